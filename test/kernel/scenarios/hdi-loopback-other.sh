# host.docker.internal resolves to another 127/8 address: gateway fallback too.
SCN_BACKENDS="nft"
SCN_HOSTS+=$'127.0.1.1\thost.docker.internal\n'
