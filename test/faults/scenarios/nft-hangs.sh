# shellcheck shell=bash disable=SC2034,SC2016
# Docker's nftables firewall backend, and `nft` hangs when the port lists Docker's table.
FLT_TITLE="nft hangs (Docker's nftables DNS table)"
FLT_STEPS=network_magic
FLT_RULES=empty.rules
fault_setup() { nft -f "${REPO}/test/testdata/iptables/docker-dns.nft" && wrap nft hang; }
FLT_PORT_STATUS=124
FLT_PORT_INIT="not run"
FLT_PORT_WARN='WARN: Command `nft list table ip docker-dns` timed out after 1500 ms'
FLT_PORT_ERROR='ERROR: enable_network_magic: Command `nft list table ip docker-dns` timed out'
FLT_UNCHANGED="rules /etc/resolv.conf /kind/old-ipv4"
FLT_ORIGINAL_STATUS=0
