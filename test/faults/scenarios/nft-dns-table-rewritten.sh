# shellcheck shell=bash disable=SC2034,SC2016
# Control for the nft scenarios: Docker's nftables DNS table with a working nft. kind's bash
# rewrites nothing there (pod DNS stays broken); the port rewrites the table.
FLT_TITLE="no fault: Docker's nftables DNS table (control)"
FLT_STEPS=network_magic
FLT_RULES=empty.rules
fault_setup() { nft -f "${REPO}/test/testdata/iptables/docker-dns.nft"; }
FLT_PORT_EXPECT_LINES='> 		ip daddr 172.30.0.1 udp dport 53 counter dnat to 127.0.0.11:45927'
FLT_ORIGINAL_STATUS=0
