# shellcheck shell=bash disable=SC2034,SC2016
# kind escapes only `.`, `[` and `]`: `.*` becomes `\.*`, which matches the empty string at
# every word boundary of every manifest.
FLT_TITLE="/kind/old-ipv4 holds regex metacharacters (.*)"
FLT_STEPS=network_magic
FLT_CONTROL_PLANE=1
FLT_OLD_IPV4=".*"
FLT_PORT_WARN='WARN: ignoring /kind/old-ipv4: ".*" is not an IPv4 address'
FLT_UNCHANGED="/etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/manifests/etcd.yaml /kind/kubeadm.conf /etc/kubernetes/pki/apiserver.crt"
FLT_ORIGINAL_STATUS=0
fault_report() {
  section "kube-apiserver.yaml line 5"
  sed -n 5p /etc/kubernetes/manifests/kube-apiserver.yaml | cut -c1-120
}
