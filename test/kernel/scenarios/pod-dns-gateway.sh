# Pod DNS end to end through the gateway fallback: no host.docker.internal, so the pod asks the
# default gateway 172.30.0.1:53, which the node must intercept in PREROUTING.
SCN_POD=1
SCN_POD_DNS_SERVER=172.30.0.1
