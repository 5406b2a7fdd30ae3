#!/usr/bin/env bash
# The DNS relay beside dnsmasq on a booted test-bed node, on the path an IPv6-only pod's queries
# take (docs/ipv6.md): a pod namespace with IPv6 only → the node's IPv6 address → the node's IPv4
# nameserver (the host address, DNATed to Docker's resolver). The relay is the node's own
# (kind-dns-relay.service on port 53); dnsmasq (this machine's, `--cache-size=0`) runs in the
# node's network namespace on port 5353 of the same address with the same upstream. dnsperf
# (this machine's) runs in the pod's namespace and loads each in turn, ROUNDS rounds interleaved;
# it asks for the node's own name, which Docker's resolver answers. Prints one line per
# forwarder: the median round's answers/s, p50 and p99 of all rounds' queries, and VmRSS after.
#
# Usage: bench/relay_node.sh (root, dockerd; run by `npm run bench -- --relay --node`)
# Env: BENCH_RELAY_ROUNDS (default 3), BENCH_RELAY_SECONDS (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
E2E_NETWORK=kets-bench-relay6
# shellcheck source=../test/e2e/lib.sh
source test/e2e/lib.sh
readonly NODE=kets-bench-relay6-node
readonly ROUNDS=${BENCH_RELAY_ROUNDS:-3} SECONDS_PER_ROUND=${BENCH_RELAY_SECONDS:-3}
dnsmasq_pid=

cleanup() {
  [[ -z $dnsmasq_pid ]] || kill "$dnsmasq_pid" 2>/dev/null || true
  e2e_rm "$NODE"
  docker network rm "$E2E_NETWORK" >/dev/null 2>&1 || true
}
trap 'cleanup; e2e_egress_guard_off' EXIT
cleanup
e2e_egress_guard_on

image="$(e2e_node_image)"
e2e_quiet docker network create --label "$E2E_LABEL=network" --ipv6 \
  --subnet 172.31.54.0/24 --subnet fd00:54::/64 "$E2E_NETWORK"
e2e_run_node "$NODE" "$image" --sysctl net.ipv6.conf.all.disable_ipv6=0 \
  --sysctl net.ipv6.conf.all.forwarding=1 >/dev/null
e2e_wait_booted "$NODE"
docker exec "$NODE" sysctl -qw net.ipv4.conf.all.route_localnet=1
e2e_pod6 "$NODE"
addr="$(docker inspect -f "{{(index .NetworkSettings.Networks \"$E2E_NETWORK\").GlobalIPv6Address}}" "$NODE")"
host_ip="$(docker exec "$NODE" ip -4 route show default | awk '{ print $3 }')"
pid="$(docker inspect -f '{{.State.Pid}}' "$NODE")"
for ((i = 0; i < 100; i++)); do
  docker exec "$NODE" dig +short +time=1 +tries=1 "@$addr" "$NODE" A | grep -q . && break
  sleep 0.1
done

nsenter -t "$pid" -n dnsmasq --keep-in-foreground --no-resolv --no-hosts --cache-size=0 \
  --bind-interfaces "--listen-address=$addr" --port=5353 "--server=$host_ip" --pid-file= \
  2>/dev/null &
dnsmasq_pid=$!
sleep 0.5

queries="$(mktemp)"
echo "$NODE A" >"$queries"
# run_round PORT OUT: one dnsperf round from the pod against the node's address; its -v output.
run_round() {
  nsenter "--net=/proc/$pid/root/run/netns/pod6" dnsperf -s "$addr" -p "$1" -d "$queries" \
    -l "$SECONDS_PER_ROUND" -q 64 -c 4 -v >"$2" 2>&1
}
work="$(mktemp -d)"
for ((r = 0; r < ROUNDS; r++)); do
  run_round 53 "$work/relay.$r"
  run_round 5353 "$work/dnsmasq.$r"
done
relay_pid="$(docker exec "$NODE" systemctl show -p MainPID --value kind-dns-relay)"
relay_rss="$(docker exec "$NODE" awk '/^VmRSS/ { print $2 }' "/proc/$relay_pid/status")"
dnsmasq_rss="$(awk '/^VmRSS/ { print $2 }' "/proc/$dnsmasq_pid/status")"

# figures NAME RSS_KB: the line for one forwarder from its rounds' outputs.
figures() {
  local name=$1 rss=$2
  local qps
  qps="$(grep -h 'Queries per second' "$work/$name".* | awk '{ print $4 }' | sort -n |
    awk '{ v[NR] = $1 } END { print int(v[int((NR + 1) / 2)]) }')"
  grep -h '^> ' "$work/$name".* | awk '{ print $NF * 1000 }' | sort -n | awk -v name="$name" \
    -v qps="$qps" -v rss="$rss" '{ v[NR] = $1 } END {
      printf "%-8s %6d answers/s  p50 %.3f ms  p99 %.3f ms  VmRSS %.1f MB  (%d queries)\n",
        name, qps, v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1], rss / 1024, NR }'
}
echo "relay on a node (IPv6-only pod -> [$addr] -> $host_ip -> Docker's resolver), dnsperf 64 outstanding, $ROUNDS rounds of $SECONDS_PER_ROUND s:"
figures relay "$relay_rss"
figures dnsmasq "$dnsmasq_rss"
rm -rf "$work" "$queries"
