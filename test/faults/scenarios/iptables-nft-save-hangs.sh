# shellcheck shell=bash disable=SC2034,SC2016
# kind's `timeout 5` ends the nft dumps; the port bounds each nft dump (1.5 s here).
FLT_TITLE="iptables-nft-save hangs"
FLT_STEPS=iptables
FLT_HANG_AFTER=8
fault_setup() { wrap iptables-nft-save hang; }
FLT_PORT_WARN='WARN: Command `iptables-nft-save` timed out after 1500 ms'
FLT_ORIGINAL_STATUS=0
