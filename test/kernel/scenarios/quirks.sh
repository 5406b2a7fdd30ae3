# Text the original's sed also matches: a comment naming 127.0.0.11 and a filter rule for
# 127.0.0.11; a resolv.conf with search-like lines (commented, indented, "searchx").
SCN_BACKENDS="nft legacy"
SCN_RULES=docker-quirks.rules
SCN_RESOLV=quirks.conf
SCN_KIND_DNS_SEARCH="a.example b.example"
