# Dual-stack node, IPv4 unchanged, IPv6 changed (::5 -> ::2): whole-word IPv6 rewrite (::50
# untouched) and certificate regeneration.
SCN_BACKENDS="nft"
SCN_MANIFESTS=1
SCN_CERTS=1
SCN_NODE_IPV6=fc00:f853:ccd:e793::2
SCN_HOSTS+=$'fc00:f853:ccd:e793::2\tkind-control-plane\n'
SCN_OLD_IPV4=172.30.0.2
SCN_OLD_IPV6=fc00:f853:ccd:e793::5
