# 127.0.0.110 next to 127.0.0.11 in the rules and in resolv.conf. The original's unanchored sed
# turns it into <host>0 (172.30.0.10); the port rewrites exact addresses only.
SCN_BACKENDS="nft"
SCN_RULES=docker-lookalike.rules
SCN_RESOLV=lookalike.conf
SCN_PORT_DIFFERS="the original rewrites 127.0.0.110 to 172.30.0.10; the port leaves it alone"
