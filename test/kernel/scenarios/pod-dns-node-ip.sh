# Pod DNS end to end: host.docker.internal pinned to the node's own address (172.30.0.2); a pod
# asks 172.30.0.2:53 and must reach the DNS responder on 127.0.0.11 through the rewritten rules.
SCN_POD=1
SCN_HOSTS+=$'172.30.0.2\thost.docker.internal\n'
SCN_POD_DNS_SERVER=172.30.0.2
