# host.docker.internal resolves to loopback (docker --add-host ...:127.0.0.1): gateway fallback.
SCN_BACKENDS="nft"
SCN_HOSTS+=$'127.0.0.1\thost.docker.internal\n'
