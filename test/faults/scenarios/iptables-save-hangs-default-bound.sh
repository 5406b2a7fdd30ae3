# shellcheck shell=bash disable=SC2034,SC2016
# The same hang without KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS: the built-in 10 s bound applies.
FLT_TITLE="iptables-save hangs, built-in bound (10 s)"
FLT_STEPS=network_magic
FLT_COMMAND_TIMEOUT_MS=""
FLT_HANG_AFTER=12
# kind's bash has no bound to show here: it is iptables-save-hangs again
FLT_ORIGINAL_SAME_AS=iptables-save-hangs
fault_setup() { wrap iptables-save hang; }
FLT_PORT_STATUS=124
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: enable_network_magic: Command `iptables-save` timed out after 10000 ms'
FLT_UNCHANGED="rules /etc/resolv.conf /kind/old-ipv4"
FLT_ORIGINAL_STATUS=hung
