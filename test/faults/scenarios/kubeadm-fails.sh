# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="kubeadm fails (control plane, address changed)"
FLT_STEPS=network_magic
FLT_CONTROL_PLANE=1
FLT_OLD_IPV4=172.30.0.5
fault_setup() { wrap kubeadm fail; }
FLT_PORT_STATUS=3
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: enable_network_magic: Command `kubeadm init phase certs apiserver --config /kind/kubeadm.conf` exited with status 3: kubeadm: simulated failure; the previous apiserver.crt and apiserver.key were put back'
FLT_UNCHANGED="/etc/kubernetes/pki/apiserver.crt /etc/kubernetes/pki/apiserver.key /kind/old-ipv4"
FLT_ORIGINAL_STATUS=3
FLT_ORIGINAL_DAMAGE="lost /etc/kubernetes/pki/apiserver.crt"
