# DNAT/SNAT rules saved without --dport/--sport (iptables 1.8.7 vs 1.8.8, kind #3054).
SCN_BACKENDS="nft legacy"
SCN_RULES=docker-no-dport.rules
