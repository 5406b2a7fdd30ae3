# shellcheck shell=bash disable=SC2034,SC2016
# The default route has no `via`: kind takes the third word of `ip`'s line (the device) as the
# host and hands `-d eth0` to iptables-restore.
FLT_TITLE="default route without a gateway"
FLT_STEPS=network_magic
fault_setup() { ip route replace default dev eth0; }
FLT_PORT_STATUS=1
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: enable_network_magic: Cannot find the Docker host IP: host.docker.internal has no IPv4 address (looked up for at most 5 s), and the default route has no gateway address: default dev eth0 scope link'
FLT_UNCHANGED="rules /etc/resolv.conf /kind/old-ipv4"
FLT_ORIGINAL_STATUS=2
