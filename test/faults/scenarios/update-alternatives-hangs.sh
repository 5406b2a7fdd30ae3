# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="update-alternatives hangs"
FLT_STEPS=iptables,network_magic
fault_setup() { wrap update-alternatives hang; }
FLT_PORT_STATUS=124
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: select_iptables: Command `update-alternatives --set iptables /usr/sbin/iptables-nft` timed out after 1500 ms'
FLT_UNCHANGED="rules /etc/resolv.conf"
FLT_ORIGINAL_STATUS=hung
