# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="/kind/old-ipv4 holds an IPv6 address"
FLT_STEPS=network_magic
FLT_CONTROL_PLANE=1
FLT_OLD_IPV4="fc00:f853:ccd:e793::5"
FLT_PORT_WARN='WARN: ignoring /kind/old-ipv4: "fc00:f853:ccd:e793::5" is not an IPv4 address'
FLT_UNCHANGED="/etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/kubelet.conf /etc/kubernetes/pki/apiserver.crt"
FLT_ORIGINAL_STATUS=0
