# The magic run twice on the same node without a restart (state after each run).
SCN_BACKENDS="nft"
SCN_RUNS=2
SCN_MANIFESTS=1
SCN_CERTS=1
SCN_OLD_IPV4=172.30.0.5
SCN_PORT_DIFFERS="the original adds a second PREROUTING jump and overwrites resolv.conf.original with the rewritten file; the port is idempotent"
