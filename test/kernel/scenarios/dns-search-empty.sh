# KIND_DNS_SEARCH set but empty: all search lines are dropped.
SCN_BACKENDS="nft"
SCN_KIND_DNS_SEARCH=""
