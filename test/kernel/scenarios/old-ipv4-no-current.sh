# An old IPv4 is recorded but the hostname has no IPv4 (not in /etc/hosts, DNS refuses): error.
SCN_BACKENDS="nft"
SCN_MANIFESTS=1
SCN_OLD_IPV4=172.30.0.5
SCN_HOSTS="${SCN_HOSTS/$'172.30.0.2\tkind-control-plane\n'/}"
