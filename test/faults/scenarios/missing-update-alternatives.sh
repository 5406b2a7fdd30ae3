# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="update-alternatives missing from PATH"
fault_setup() { hide update-alternatives; }
FLT_PORT_STATUS=127
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: select_iptables: Command `update-alternatives --set iptables /usr/sbin/iptables-nft` could not be run: command not found in PATH'
FLT_UNCHANGED="rules /etc/resolv.conf"
FLT_ORIGINAL_STATUS=127
