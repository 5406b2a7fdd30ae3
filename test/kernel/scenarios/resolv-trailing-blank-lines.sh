# resolv.conf ending in blank lines, KIND_DNS_SEARCH empty.
SCN_BACKENDS="nft"
SCN_RESOLV=trailing-blank-lines.conf
SCN_KIND_DNS_SEARCH=""
