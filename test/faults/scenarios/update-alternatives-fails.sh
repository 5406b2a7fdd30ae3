# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="update-alternatives fails"
FLT_STEPS=iptables,network_magic
fault_setup() { wrap update-alternatives fail; }
FLT_PORT_STATUS=3
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: select_iptables: Command `update-alternatives --set iptables /usr/sbin/iptables-nft` exited with status 3: update-alternatives: simulated failure'
FLT_UNCHANGED="rules /etc/resolv.conf"
FLT_ORIGINAL_STATUS=3
