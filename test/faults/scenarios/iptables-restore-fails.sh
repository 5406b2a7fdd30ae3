# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="iptables-restore fails"
FLT_STEPS=network_magic
fault_setup() { wrap iptables-restore fail; }
FLT_PORT_STATUS=3
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: enable_network_magic: Command `iptables-restore` exited with status 3: iptables-restore: simulated failure'
FLT_UNCHANGED="rules /etc/resolv.conf /kind/old-ipv4"
FLT_ORIGINAL_STATUS=3
