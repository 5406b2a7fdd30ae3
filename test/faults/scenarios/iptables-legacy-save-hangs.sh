# shellcheck shell=bash disable=SC2034,SC2016
# kind bounds only the nft dumps; a hanging legacy dump hangs its boot.
FLT_TITLE="iptables-legacy-save hangs"
FLT_STEPS=iptables
fault_setup() { wrap iptables-legacy-save hang; }
FLT_PORT_WARN='WARN: Command `iptables-legacy-save` timed out after 1500 ms'
FLT_ORIGINAL_STATUS=hung
