# host.docker.internal has only an IPv6 entry: no IPv4 answer, gateway fallback.
SCN_BACKENDS="nft"
SCN_HOSTS+=$'fc00:f853:ccd:e793::1\thost.docker.internal\n'
