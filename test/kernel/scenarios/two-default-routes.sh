# Two default routes (metrics 100 and 200), no host.docker.internal.
SCN_BACKENDS="nft"
SCN_ROUTES=two
SCN_PORT_DIFFERS="the original dies in sed (unterminated s command); the port stops with an error listing the default routes"
