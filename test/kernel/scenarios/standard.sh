# Docker's DNS rules and resolv.conf, one default route, no host.docker.internal: the gateway is used.
SCN_BACKENDS="nft legacy"
