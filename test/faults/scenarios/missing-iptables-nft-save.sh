# shellcheck shell=bash disable=SC2034,SC2016
# The nft dump tools are gone: the nft count is 0, so the 0-0 tie picks legacy, where Docker's
# rules are not. Both boot; the port says why the count was 0.
FLT_TITLE="iptables-nft-save and ip6tables-nft-save missing from PATH"
fault_setup() { hide iptables-nft-save ip6tables-nft-save; }
FLT_PORT_WARN="WARN: iptables-nft-save could not be run (not in PATH); counting its rules as none"
FLT_ORIGINAL_STATUS=0
