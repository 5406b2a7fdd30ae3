# /etc/hosts pins the hostname to IPv6 only: no current IPv4 (and none recorded before).
SCN_BACKENDS="nft"
SCN_NODE_IPV6=fc00:f853:ccd:e793::2
SCN_HOSTS="${SCN_HOSTS/$'172.30.0.2\tkind-control-plane\n'/}"
SCN_HOSTS+=$'fc00:f853:ccd:e793::2\tkind-control-plane\n'
