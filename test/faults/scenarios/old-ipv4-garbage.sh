# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="/kind/old-ipv4 holds garbage (control plane)"
FLT_STEPS=network_magic
FLT_CONTROL_PLANE=1
FLT_OLD_IPV4="not-an-ip"
FLT_PORT_WARN='WARN: ignoring /kind/old-ipv4: "not-an-ip" is not an IPv4 address'
FLT_UNCHANGED="/etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/manifests/etcd.yaml /etc/kubernetes/pki/apiserver.crt /etc/kubernetes/pki/apiserver.key"
FLT_ORIGINAL_STATUS=0
