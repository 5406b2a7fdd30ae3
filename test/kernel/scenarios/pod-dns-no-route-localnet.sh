# Control for pod DNS: the magic applied but net.ipv4.conf.all.route_localnet=0, so the DNATed
# packets to 127.0.0.11 are dropped (kube-proxy sets route_localnet=1 in a real node).
SCN_POD=1
SCN_POD_DNS_SERVER=172.30.0.1
SCN_POD_ROUTE_LOCALNET=0
