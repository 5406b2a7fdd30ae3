#!/usr/bin/env bats
# The DNS check's packets against a real server and dig: in a throwaway network namespace,
# dnsmasq answers on 127.0.0.1:53 from its own records (nothing is forwarded, nothing leaves
# the namespace). For each name and transport, what our code parsed from the answer to the query
# it built (test/kernel/dns_query.ts) must equal what dig shows for the same question; dnsmasq's
# query log must show our query as an A query for that name. Needs root, dnsmasq and dig.

setup_file() {
  if [[ "$(id -u)" != 0 ]]; then
    skip "needs root: network namespaces"
  fi
}

setup() {
  command -v dig >/dev/null || fail "dig is missing (apt-get install bind9-dnsutils)"
  command -v dnsmasq >/dev/null || fail "dnsmasq is missing (apt-get install dnsmasq-base)"
  repo="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
  netns="kets-dnsprobe-$$"
  log="$BATS_TEST_TMPDIR/dnsmasq.log"
  ip netns add "$netns"
  ip -n "$netns" link set lo up
  ip netns exec "$netns" dnsmasq --keep-in-foreground --no-resolv --no-hosts --no-daemon \
    --listen-address=127.0.0.1 --bind-interfaces --port=53 --log-queries \
    --log-facility="$log" --pid-file="$BATS_TEST_TMPDIR/dnsmasq.pid" \
    --host-record=kind-control-plane,172.18.0.2 \
    --host-record=kind-worker,172.18.0.3 --host-record=kind-worker,172.18.0.4 \
    --cname=alias.kind-worker,kind-worker --local=/test/ 3>&- &
  dnsmasq_pid=$!
  # polls (at most 30 s: dnsmasq starts late on a loaded machine) until dnsmasq answers, and fails
  # the test if it never does; it asks for kind-worker, so that a query for kind-control-plane in
  # dnsmasq's log is the test's own
  local ready=""
  for _ in $(seq 300); do
    ready="$(ip netns exec "$netns" dig +short +time=1 +tries=1 @127.0.0.1 kind-worker 2>/dev/null)" &&
      grep -qx 172.18.0.3 <<<"$ready" && return 0
    sleep 0.1
  done
  fail "dnsmasq did not answer within 30 s" "$(cat "$log" 2>/dev/null)"
}

teardown() {
  kill "${dnsmasq_pid:-}" 2>/dev/null || true
  wait "${dnsmasq_pid:-}" 2>/dev/null || true
  ip netns del "$netns" 2>/dev/null || true
}

fail() {
  printf '%s\n' "$@" >&2
  return 1
}

# ours NAME UDP|TCP: what our code parsed.
ours() {
  ip netns exec "$netns" "$repo/node_modules/.bin/deno" run -A --no-config \
    "$repo/test/kernel/dns_query.ts" 127.0.0.1 "$1" "$2"
}

# digs NAME UDP|TCP: dig's view of the same question, in the same shape.
digs() {
  local tcp=()
  [[ $2 == TCP ]] && tcp=(+tcp)
  ip netns exec "$netns" dig +noall +comments +answer +noedns +time=2 +tries=1 "${tcp[@]}" \
    @127.0.0.1 "$1" A |
    awk '/status:/ { sub(/.*status: /, ""); sub(/,.*/, ""); print "status: " $0; next }
         /^;/ || NF == 0 { next }
         { print $1, $2, $3, $4, $5 }'
}

# compare NAME UDP|TCP: the same status and records (records sorted: dnsmasq rotates them).
compare() {
  local mine theirs
  mine="$(ours "$1" "$2" | sort)"
  theirs="$(digs "$1" "$2" | sort)"
  [[ "$mine" == "$theirs" ]] || fail "for $1 over $2, ours:" "$mine" "dig:" "$theirs"
  grep -q "^status: " <<<"$mine" || fail "no answer: $mine"
}

@test "the node's own name over UDP: our query and parse match dig" {
  compare kind-control-plane UDP
  grep -q 'query\[A\] kind-control-plane from 127.0.0.1' "$log" || fail "dnsmasq saw no A query" "$(cat "$log")"
}

@test "the node's own name over TCP: our query and parse match dig" {
  compare kind-control-plane TCP
}

@test "two A records and a CNAME chain (compressed names) match dig over UDP and TCP" {
  compare kind-worker UDP
  compare alias.kind-worker UDP
  compare alias.kind-worker TCP
}

@test "an unknown name: the status matches dig's (the server was reached)" {
  compare no-such-node.test UDP
  compare no-such-node.test TCP
  [[ "$(ours no-such-node.test UDP)" == "status: NXDOMAIN" ]]
}

@test "a port nothing listens on: connection refused, no answer" {
  run ip netns exec "$netns" "$repo/node_modules/.bin/deno" run -A --no-config - <<<'
    import { loadProbe } from "'"$repo"'/lib/dns/probe.ts";
    console.log(JSON.stringify(loadProbe()!({ server: "127.0.0.1", port: 5, name: "x", transports: ["UDP", "TCP"], timeoutMs: 300 }).map((r) => r.error)));'
  [[ "$output" == '["connection refused","connection refused"]' ]] || fail "$output"
}
