# mangle/filter tables and other nat chains (kube-proxy, kind-masq-agent) next to Docker's rules.
SCN_BACKENDS="nft legacy"
SCN_RULES=docker-extra-tables.rules
