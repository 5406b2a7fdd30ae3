# A resolv.conf of nothing but search lines, KIND_DNS_SEARCH empty: kind's `grep -v ^search`
# exits 1 under errexit and leaves resolv.conf empty.
SCN_BACKENDS="nft"
SCN_RESOLV=search-only.conf
SCN_KIND_DNS_SEARCH=""
SCN_PORT_DIFFERS="the original exits 1 and leaves resolv.conf empty; the port exits 1 and leaves it as it was"
