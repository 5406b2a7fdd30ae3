# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="kubeadm hangs (control plane, address changed)"
FLT_STEPS=network_magic
FLT_CONTROL_PLANE=1
FLT_OLD_IPV4=172.30.0.5
fault_setup() { wrap kubeadm hang; }
FLT_PORT_STATUS=124
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: enable_network_magic: Command `kubeadm init phase certs apiserver --config /kind/kubeadm.conf` timed out after 1500 ms; the previous apiserver.crt and apiserver.key were put back'
FLT_UNCHANGED="/etc/kubernetes/pki/apiserver.crt /etc/kubernetes/pki/apiserver.key"
FLT_ORIGINAL_STATUS=hung
FLT_ORIGINAL_DAMAGE="lost /etc/kubernetes/pki/apiserver.crt"
