# No iptables DNS rules at all (podman, or Docker's native nftables backend): rules stay empty,
# resolv.conf still points at the host.
SCN_BACKENDS="nft legacy"
SCN_RULES=empty.rules
