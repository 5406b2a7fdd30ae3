# No default route and no host.docker.internal: no host IP can be found.
SCN_BACKENDS="nft legacy"
SCN_ROUTES=none
SCN_PORT_DIFFERS="the original fails in iptables-restore (empty host, exit 2) after nothing was changed; the port stops first with an error naming both sources (exit 1)"
