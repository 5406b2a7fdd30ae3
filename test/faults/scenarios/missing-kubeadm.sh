# shellcheck shell=bash disable=SC2034,SC2016
# A control-plane node restarted with a new address; kubeadm is gone when the certificate is
# regenerated. kind's bash has already deleted the old certificate and key by then.
FLT_TITLE="kubeadm missing from PATH (control plane, address changed)"
FLT_STEPS=network_magic
FLT_CONTROL_PLANE=1
FLT_OLD_IPV4=172.30.0.5
fault_setup() { hide kubeadm; }
FLT_PORT_STATUS=127
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: enable_network_magic: Command `kubeadm init phase certs apiserver --config /kind/kubeadm.conf` could not be run: command not found in PATH; the previous apiserver.crt and apiserver.key were put back'
FLT_UNCHANGED="/etc/kubernetes/pki/apiserver.crt /etc/kubernetes/pki/apiserver.key"
FLT_ORIGINAL_STATUS=127
FLT_ORIGINAL_DAMAGE="lost /etc/kubernetes/pki/apiserver.crt"
