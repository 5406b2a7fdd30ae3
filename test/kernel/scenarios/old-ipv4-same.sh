# Restart with the same IPv4: nothing is rewritten, no certificate regeneration.
SCN_BACKENDS="nft"
SCN_MANIFESTS=1
SCN_CERTS=1
SCN_OLD_IPV4=172.30.0.2
