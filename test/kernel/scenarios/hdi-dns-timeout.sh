# Docker's DNS never answers (packets to its ports dropped) and host.docker.internal is not in
# /etc/hosts: the lookup is cut at 5 s (kind #2793) and the gateway is used.
SCN_BACKENDS="nft"
SCN_RULES=docker-dns-blackhole.rules
