# shellcheck shell=bash disable=SC2034,SC2016
# Docker's nftables firewall backend: its DNS NAT lives in the nftables table ip docker-dns, which
# no iptables-save shows, and `nft` is gone. kind's bash does not know that table at all; the
# port would rewrite it with nft, and without nft says why it cannot.
FLT_TITLE="nft missing from PATH (Docker's nftables DNS table)"
FLT_STEPS=network_magic
FLT_RULES=empty.rules
fault_setup() { nft -f "${REPO}/test/testdata/iptables/docker-dns.nft" && hide nft; }
FLT_PORT_WARN="WARN: Docker's DNS rules are in no iptables backend, and nft is not in PATH to look for Docker's nftables table ip docker-dns; pods may not reach Docker's DNS"
FLT_UNCHANGED="rules"
FLT_ORIGINAL_STATUS=0
