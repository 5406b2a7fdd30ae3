# shellcheck shell=bash disable=SC2034,SC2016
# SIGTERM while select_iptables waits for update-alternatives: the port finishes that step and
# stops before the network magic; kind's bash dies at once.
FLT_TITLE="SIGTERM while a command runs (update-alternatives)"
FLT_STEPS=iptables,network_magic
fault_setup() { slow_update_alternatives; }
fault_during() { signal_when_command_starts TERM "$1"; }
FLT_PORT_STATUS=143
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: Stopped by SIGTERM before enable_network_magic; init was not started'
FLT_UNCHANGED="rules /etc/resolv.conf"
FLT_ORIGINAL_STATUS=143
