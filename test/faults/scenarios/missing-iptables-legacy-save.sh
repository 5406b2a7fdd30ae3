# shellcheck shell=bash disable=SC2034,SC2016
# The legacy dump tools are gone: nft (Docker's rules) wins anyway; the port says so.
FLT_TITLE="iptables-legacy-save and ip6tables-legacy-save missing from PATH"
fault_setup() { hide iptables-legacy-save ip6tables-legacy-save; }
FLT_PORT_WARN="WARN: iptables-legacy-save could not be run (not in PATH); counting its rules as none"
FLT_ORIGINAL_STATUS=0
