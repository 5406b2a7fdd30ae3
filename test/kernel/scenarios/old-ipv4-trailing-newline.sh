# /kind/old-ipv4 written with a final newline (by hand or another tool): the address is the same.
SCN_BACKENDS="nft"
SCN_MANIFESTS=1
SCN_CERTS=1
SCN_OLD_IPV4=$'172.30.0.2\n'
