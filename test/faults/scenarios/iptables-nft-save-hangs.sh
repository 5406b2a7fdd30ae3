# shellcheck shell=bash disable=SC2034,SC2016
# kind's `timeout 5` ends the nft dumps; the port's own bound (1.5 s here) comes first.
FLT_TITLE="iptables-nft-save hangs"
FLT_STEPS=iptables
FLT_HANG_AFTER=8
fault_setup() { wrap iptables-nft-save hang; }
FLT_PORT_WARN='WARN: Command `timeout 5 sh -c iptables-nft-save; ip6tables-nft-save` timed out after 1500 ms'
FLT_ORIGINAL_STATUS=0
