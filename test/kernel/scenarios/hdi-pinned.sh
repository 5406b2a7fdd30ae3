# host.docker.internal resolves (via /etc/hosts) to a non-loopback address: that address is used.
SCN_BACKENDS="nft legacy"
SCN_HOSTS+=$'172.30.0.254\thost.docker.internal\n'
