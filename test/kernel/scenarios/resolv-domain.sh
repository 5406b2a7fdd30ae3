# podman/nerdctl-like resolv.conf with a domain line (which overrides search), KIND_DNS_SEARCH set.
SCN_BACKENDS="nft"
SCN_RESOLV=domain.conf
SCN_KIND_DNS_SEARCH="a.example"
SCN_PORT_DIFFERS="the original keeps the domain line, which overrides the search line it adds; the port drops it"
