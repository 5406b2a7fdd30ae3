# IPv4-only /etc/hosts but an old IPv6 recorded: getent ahostsv6 answers the v4-mapped
# ::ffff:172.30.0.2, which the original takes as the current IPv6.
SCN_BACKENDS="nft"
SCN_MANIFESTS=1
SCN_CERTS=1
SCN_OLD_IPV4=172.30.0.2
SCN_OLD_IPV6=fc00:f853:ccd:e793::5
