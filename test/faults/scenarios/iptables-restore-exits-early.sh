# shellcheck shell=bash disable=SC2034,SC2016
# iptables-restore fails before it has read its input, and the input is larger than a pipe holds
# (a ruleset of 1.3 MB): writing the rest fails with EPIPE, which must not crash the port.
FLT_TITLE="iptables-restore exits without reading a large ruleset"
FLT_STEPS=network_magic
fault_setup() {
  local dump
  dump="$(
    /usr/sbin/xtables-nft-multi iptables-save -t nat | sed '/^COMMIT$/,$d'
    echo ':KIND-FILL - [0:0]'
    yes -- '-A KIND-FILL -j RETURN' | head -n 60000 || true
    echo COMMIT
  )"
  wrap iptables-save garbage "${dump}"$'\n'
  wrap iptables-restore fail
}
FLT_PORT_STATUS=3
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: enable_network_magic: Command `iptables-restore` exited with status 3: iptables-restore: simulated failure'
FLT_UNCHANGED="rules /etc/resolv.conf /kind/old-ipv4"
FLT_ORIGINAL_STATUS=3
