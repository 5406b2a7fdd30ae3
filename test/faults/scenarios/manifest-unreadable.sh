# shellcheck shell=bash disable=SC2034,SC2016
# kube-scheduler.yaml (4th of the files) cannot be read, even by root: a write-only procfs file
# is bind mounted over it. kind has rewritten the first three by then.
FLT_TITLE="a manifest unreadable (control plane, address changed)"
FLT_STEPS=network_magic
FLT_CONTROL_PLANE=1
FLT_OLD_IPV4=172.30.0.5
fault_setup() { mount --bind /proc/sys/vm/compact_memory /etc/kubernetes/manifests/kube-scheduler.yaml; }
FLT_PORT_STATUS=1
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: enable_network_magic: Cannot read /etc/kubernetes/manifests/kube-scheduler.yaml: permission denied'
FLT_UNCHANGED="/etc/kubernetes/manifests/etcd.yaml /etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/manifests/kube-controller-manager.yaml /kind/old-ipv4 /etc/kubernetes/pki/apiserver.crt"
FLT_ORIGINAL_STATUS=2
