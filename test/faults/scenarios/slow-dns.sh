# shellcheck shell=bash disable=SC2034,SC2016
# Docker's DNS takes the queries and never answers (a UDP sink on the port of Docker's DNAT rule),
# with `options timeout:30 attempts:1`; the hostname is not in /etc/hosts either. Each of the
# three lookups (host.docker.internal, the hostname's IPv4 and IPv6) must give up after 5 s and
# the boot go on with the gateway.
FLT_TITLE="slow DNS: every lookup unanswered (resolver timeout 30 s)"
FLT_RESOLV=slow-dns.conf
FLT_HOSTS="$(printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n')"$'\n'
FLT_STEPS=network_magic
FLT_HANG_AFTER=25
fault_setup() {
  python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.11", 45927))
open("/sbx/state/sink.ready", "w").close()
time.sleep(3600)
' </dev/null >/dev/null 2>&1 &
  for _ in $(seq 1 3000); do [[ -e /sbx/state/sink.ready ]] && return 0; sleep 0.01; done
  echo "slow-dns: the DNS sink did not start" >&2
  return 1
}
fault_report() {
  section "lookups took"
  # 3 lookups of 5 s each, plus start-up: at least 15 s and less than a fourth lookup's 20 s, which
  # leaves start-up 5 s on a loaded machine (a 30 s wait ends as a hang at FLT_HANG_AFTER)
  local ms
  ms="$(cat /sbx/state/ms)"
  if ((ms >= 14000 && ms < 20000)); then echo "15 s (3 x 5 s)"; else echo "${ms} ms"; fi
}
FLT_PORT_EXPECT_LINES=$'INFO: detected IPv4 address: \nnameserver 172.30.0.1\n15 s (3 x 5 s)'
FLT_ORIGINAL_STATUS=0
