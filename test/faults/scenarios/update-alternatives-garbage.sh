# shellcheck shell=bash disable=SC2034,SC2016
# Its output is not read by either implementation.
FLT_TITLE="update-alternatives prints garbage and succeeds"
FLT_STEPS=iptables,network_magic
fault_setup() { wrap update-alternatives garbage; }
FLT_ORIGINAL_STATUS=0
