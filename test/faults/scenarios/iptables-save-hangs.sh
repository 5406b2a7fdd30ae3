# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="iptables-save hangs"
FLT_STEPS=network_magic
fault_setup() { wrap iptables-save hang; }
FLT_PORT_STATUS=124
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: enable_network_magic: Command `iptables-save` timed out after 1500 ms'
FLT_UNCHANGED="rules /etc/resolv.conf /kind/old-ipv4"
FLT_ORIGINAL_STATUS=hung
