# Pod DNS with Docker's native nftables backend (Docker 28+ --firewall-backend=nftables): the DNS
# NAT is `table ip docker-dns`, invisible to iptables-save; pods ask the gateway 172.30.0.1:53.
SCN_POD=1
SCN_RULES=""
SCN_NFT=docker-dns.nft
SCN_POD_DNS_SERVER=172.30.0.1
