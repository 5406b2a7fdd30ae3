# shellcheck shell=bash disable=SC2034,SC2016
# SIGRTMIN+3, what docker stop sends (the image's STOPSIGNAL), to the entrypoint as PID 1 of its PID
# namespace, as in a node, while select_iptables waits for update-alternatives. kind's bash, PID 1
# without a handler, never sees it: the kernel drops it, the boot goes on, and docker's grace period
# ends in a SIGKILL wherever the script is. The port finishes the step and stops before the next.
FLT_TITLE="SIGRTMIN+3 to PID 1 while a command runs (update-alternatives)"
FLT_STEPS=iptables,network_magic
FLT_PID1=1
fault_setup() { slow_update_alternatives; }
fault_during() { signal_when_command_starts RTMIN+3 "$1"; }
FLT_PORT_STATUS=165
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: Stopped by SIGRTMIN+3 before enable_network_magic; init was not started'
FLT_UNCHANGED="rules /etc/resolv.conf"
FLT_ORIGINAL_STATUS=0
FLT_ORIGINAL_EXPECT_LINES="ran"
