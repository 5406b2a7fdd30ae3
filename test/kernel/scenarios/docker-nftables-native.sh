# Docker 28+ with --firewall-backend=nftables: the DNS NAT lives in `table ip docker-dns`, which
# iptables-save does not show.
SCN_BACKENDS="nft"
SCN_RULES=""
SCN_NFT=docker-dns.nft
SCN_PORT_DIFFERS="rewrites Docker's nftables DNS table, which kind's bash cannot see"
