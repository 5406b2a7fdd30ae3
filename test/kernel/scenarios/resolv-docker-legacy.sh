# Older Docker's short resolv.conf (search first), with KIND_DNS_SEARCH set.
SCN_BACKENDS="nft"
SCN_RESOLV=docker-legacy.conf
SCN_KIND_DNS_SEARCH="a.example b.example"
