# A resolv.conf of nothing but search lines, KIND_DNS_SEARCH set: kind's `grep -v ^search` finds
# no line to keep and exits 1 under errexit, leaving only the new search line and no boot.
SCN_BACKENDS="nft"
SCN_RESOLV=search-only.conf
SCN_KIND_DNS_SEARCH="a.example"
SCN_PORT_DIFFERS="the original exits 1 after writing the search line; the port writes the same file and goes on"
