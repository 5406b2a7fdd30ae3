# shellcheck shell=bash disable=SC2034,SC2016
# `#` ends kind's sed expression early: the rest is read as sed flags, here `w FILE`, which
# creates a file named by the content of /kind/old-ipv4.
FLT_TITLE="/kind/old-ipv4 holds a sed command (x#y#w /kind/injected)"
FLT_STEPS=network_magic
FLT_CONTROL_PLANE=1
FLT_OLD_IPV4="x#y#w /kind/injected"
FLT_PORT_WARN='WARN: ignoring /kind/old-ipv4: "x#y#w /kind/injected" is not an IPv4 address'
FLT_UNCHANGED="/etc/kubernetes/manifests/kube-apiserver.yaml /etc/kubernetes/pki/apiserver.crt"
FLT_ORIGINAL_STATUS=0
fault_report() {
  section "files created in /kind"
  find /kind -maxdepth 1 -name 'injected*' | sed 's/^/created /' | grep . || echo "(none)"
}
FLT_PORT_EXPECT_LINES=$'## files created in /kind\n(none)'
