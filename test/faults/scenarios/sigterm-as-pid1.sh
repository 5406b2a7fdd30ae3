# shellcheck shell=bash disable=SC2034,SC2016
# SIGTERM to the entrypoint as PID 1 of its PID namespace, as in a node, while select_iptables waits
# for update-alternatives (docker kill --signal SIGTERM). kind's bash, PID 1 without a handler,
# never sees it: the kernel drops it, and the boot goes on. The port finishes the step and stops
# before the next.
FLT_TITLE="SIGTERM to PID 1 while a command runs (update-alternatives)"
FLT_STEPS=iptables,network_magic
FLT_PID1=1
fault_setup() { slow_update_alternatives; }
fault_during() { signal_when_command_starts TERM "$1"; }
FLT_PORT_STATUS=143
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: Stopped by SIGTERM before enable_network_magic; init was not started'
FLT_UNCHANGED="rules /etc/resolv.conf"
FLT_ORIGINAL_STATUS=0
FLT_ORIGINAL_EXPECT_LINES="ran"
