# shellcheck shell=bash disable=SC2034,SC2016
# host.docker.internal does not resolve, so the gateway is needed and `ip` is gone.
FLT_TITLE="ip missing from PATH (host.docker.internal unresolvable, default route without gateway)"
FLT_STEPS=network_magic
# The default route has no gateway, so /proc/net/route does not answer and `ip` is asked.
fault_setup() { ip route replace default dev eth0 && hide ip; }
FLT_PORT_STATUS=127
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: enable_network_magic: Cannot find the Docker host IP: host.docker.internal has no IPv4 address (looked up for at most 5 s), and Command `ip -4 route show default` could not be run: command not found in PATH'
FLT_UNCHANGED="rules /etc/resolv.conf /kind/old-ipv4"
FLT_ORIGINAL_STATUS=127
