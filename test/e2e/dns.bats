#!/usr/bin/env bats
# The DNS check at boot and KIND_ENTRYPOINT_DIAGNOSE in real containers on a real dockerd:
# a healthy node says nothing at boot and reports OK; Docker's DNAT rules pointed at a closed
# port make the boot warn (once, naming the node path) and the diagnosis fail; resolv.conf naming
# an address where nothing answers, and route_localnet=0 (node path fine, pod path broken) fail
# the diagnosis with the reason; so do Docker's DNS rules flushed after boot; on Docker's
# default bridge nothing is checked or said. Every diagnosis must leave no namespace or veth
# behind, and a healthy node's whole mount table as it was. Only Docker's embedded resolver is
# asked, for node names: the egress guard's counter must stay 0.

source "$BATS_TEST_DIRNAME/lib.sh"

NODE=kets-dns-node
STALE=kets-dns-stale
BRIDGE=kets-dns-bridge

setup_file() {
  e2e_ensure_dockerd
  e2e_rm "$NODE" "$STALE" "$BRIDGE"
  IMAGE="$(e2e_node_image)"
  export IMAGE
  e2e_network
  e2e_egress_guard_on
  e2e_run_node "$NODE" "$IMAGE" >/dev/null
  e2e_wait_booted "$NODE"
  HOST_IP="$(e2e_network_gateway)"
  export HOST_IP
}

teardown_file() {
  e2e_rm "$NODE" "$STALE" "$BRIDGE"
  e2e_egress_guard_off
}

fail() {
  printf '%s\n' "$@" >&2
  return 1
}

# diagnose NODE [json]: runs the diagnosis; sets $status and $output.
diagnose() {
  run docker exec "$1" env "KIND_ENTRYPOINT_DIAGNOSE=${2:-1}" /usr/local/bin/entrypoint
  printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/report.txt"
}

# no_leftovers NODE: no diagnosis namespace or veth is left in the node.
no_leftovers() {
  local left
  left="$(docker exec "$1" sh -c 'ip netns list; ip -o link show' | grep -E 'kets-diag|kdiag' || true)"
  [[ -z $left ]] || fail "left behind in $1:" "$left"
}

# mounts NODE: the node's whole mount table.
mounts() {
  docker exec "$1" cat /proc/self/mountinfo
}

@test "a healthy node: no DNS warning at boot, the diagnosis answers from node and pod (exit 0)" {
  ! e2e_logs "$NODE" | grep -q 'WARN: DNS' || fail "$(e2e_logs "$NODE" | grep 'WARN')"
  local mounts_before mounts_after
  mounts_before="$(mounts "$NODE")"
  diagnose "$NODE"
  mounts_after="$(mounts "$NODE")"
  # "nothing on the node was changed": not one line of the mount table either (ip netns add
  # bind-mounts /run/netns onto itself, which ip netns del leaves).
  diff -u <(printf '%s\n' "$mounts_before") <(printf '%s\n' "$mounts_after") ||
    fail "the diagnosis changed the node's mount table"
  [[ $status == 0 ]] || fail "status $status" "$output"
  [[ $output == *"container runtime:    Docker"* ]] || fail "$output"
  [[ $output == *"rules' host IP:       $HOST_IP (resolv.conf's nameserver $HOST_IP is it)"* ]] ||
    fail "$output"
  grep -qE "^probe from the node -> $HOST_IP:53 for $NODE: UDP answered in [0-9.]+ ms \(NOERROR [0-9.]+\); TCP answered" <<<"$output" ||
    fail "$output"
  grep -qE "^probe from the pod  -> $HOST_IP:53 for $NODE: UDP answered in [0-9.]+ ms \(NOERROR [0-9.]+\); TCP answered" <<<"$output" ||
    fail "$output"
  [[ $(tail -n 1 <<<"$output") == "verdict: OK: the node and pods reach $HOST_IP for $NODE over UDP and TCP" ]] ||
    fail "$output"
  no_leftovers "$NODE"
}

@test "KIND_ENTRYPOINT_DIAGNOSE=json prints the same facts as one JSON object" {
  diagnose "$NODE" json
  [[ $status == 0 ]] || fail "status $status" "$output"
  python3 - "$output" "$HOST_IP" <<'PY'
import json, sys
report = json.loads(sys.argv[1])
assert report["runtime"] == "Docker", report
assert report["rulesHostIps"] == [sys.argv[2]], report
assert [p["from"] for p in report["probes"]] == ["node", "pod"], report
assert all(r["answered"] for p in report["probes"] for r in p["results"]), report
assert report["status"] == 0 and report["verdict"].startswith("OK: "), report
PY
  no_leftovers "$NODE"
}

@test "route_localnet=0 after boot: the node answers, pods do not, and the report says why (exit 1)" {
  docker exec "$NODE" sysctl -qw net.ipv4.conf.all.route_localnet=0 net.ipv4.conf.default.route_localnet=0
  diagnose "$NODE"
  docker exec "$NODE" sysctl -qw net.ipv4.conf.all.route_localnet=1
  [[ $status == 1 ]] || fail "status $status" "$output"
  grep -qE "^probe from the node -> .*UDP answered.*TCP answered" <<<"$output" || fail "$output"
  grep -qE "^probe from the pod  -> .*UDP failed after.*TCP failed after" <<<"$output" || fail "$output"
  [[ $(tail -n 1 <<<"$output") == "verdict: FAIL: the node reaches $HOST_IP, pods do not, over "*": route_localnet is 0, so the kernel drops pod packets DNATed to 127.0.0.11 (sysctl net.ipv4.conf.all.route_localnet=1)" ]] ||
    fail "$output"
  no_leftovers "$NODE"
}

@test "resolv.conf naming an address where nothing answers: the diagnosis fails (exit 1)" {
  local node_ip
  node_ip="$(e2e_node_ip "$NODE")"
  docker exec "$NODE" cp /etc/resolv.conf /tmp/resolv.conf.saved
  docker exec "$NODE" sh -c "echo 'nameserver $node_ip' >/etc/resolv.conf"
  diagnose "$NODE"
  docker exec "$NODE" sh -c 'cat /tmp/resolv.conf.saved >/etc/resolv.conf'
  [[ $status == 1 ]] || fail "status $status" "$output"
  [[ $output == *"resolv.conf's nameserver $node_ip is not it"* ]] || fail "$output"
  [[ $(tail -n 1 <<<"$output") == "verdict: FAIL: the node (and pods) cannot reach $node_ip for $NODE over UDP (connection refused) or TCP (connection refused); /etc/resolv.conf names $node_ip but Docker's rules send $HOST_IP to its resolver" ]] ||
    fail "$output"
  no_leftovers "$NODE"
}

@test "Docker's DNS rules flushed after boot: the diagnosis probes the node's nameserver and fails (exit 1)" {
  # The node keeps the resolv.conf the entrypoint wrote (the host IP); only the rules go.
  docker exec "$NODE" sh -c 'iptables-save -t nat >/tmp/nat.saved && iptables -t nat -F DOCKER_OUTPUT'
  diagnose "$NODE"
  docker exec "$NODE" sh -c 'iptables-restore -T nat </tmp/nat.saved'
  [[ $status == 1 ]] || fail "status $status" "$output"
  grep -qE "^probe from the node -> $HOST_IP:53 for $NODE: UDP failed after .*; TCP failed after " <<<"$output" ||
    fail "$output"
  [[ $(tail -n 1 <<<"$output") == "verdict: FAIL: the node cannot reach $HOST_IP for $NODE over "*"; no Docker DNS rule is left, though /etc/resolv.conf.original names Docker's resolver 127.0.0.11: the rules were removed after boot" ]] ||
    fail "$output"
  no_leftovers "$NODE"
}

@test "Docker's DNAT rules pointed at a closed port before the entrypoint: one WARN at boot, the boot goes on, the diagnosis fails (exit 1)" {
  e2e_run_node "$STALE" "$IMAGE" -e E2E_SKIP_ENTRYPOINT=1 -- sleep infinity >/dev/null
  # Whichever backend holds Docker's chain: its DNAT targets become port 9, where nothing listens.
  docker exec "$STALE" bash -c '
    for b in nft legacy; do
      if iptables-$b-save -t nat 2>/dev/null | grep -q "^:DOCKER_OUTPUT"; then
        iptables-$b-save -t nat | sed -E "s/(--to-destination 127\.0\.0\.11):[0-9]+/\1:9/" |
          iptables-$b-restore -T nat
        echo "$b"
      fi
    done' >"$BATS_TEST_TMPDIR/backend"
  local backend
  backend="$(cat "$BATS_TEST_TMPDIR/backend")"
  [[ $backend == nft || $backend == legacy ]] || fail "Docker's chain found in: $backend"
  run docker exec "$STALE" /usr/local/bin/entrypoint true
  [[ $status == 0 ]] || fail "status $status" "$output"
  local warnings
  warnings="$(grep -c '^WARN: DNS: ' <<<"$output" || true)"
  [[ $warnings == 1 ]] || fail "expected one DNS warning, got $warnings:" "$output"
  grep -qxE "WARN: DNS: nameserver $HOST_IP \(/etc/resolv.conf\) did not answer $STALE from the node over UDP \(connection refused\) or TCP \(connection refused\); container runtime: Docker; Docker's DNS rules: iptables-$backend; check: the DNAT rules \(iptables-$backend-save -t nat, chain DOCKER_OUTPUT\) must send $HOST_IP:53 .*" <<<"$output" ||
    fail "$output"
  [[ $(tail -n 1 <<<"$output") == "INFO: starting init" ]] || fail "$output"
  diagnose "$STALE"
  [[ $status == 1 ]] || fail "status $status" "$output"
  [[ $(tail -n 1 <<<"$output") == "verdict: FAIL: the node (and pods) cannot reach $HOST_IP for $STALE over UDP (connection refused) or TCP (connection refused)" ]] ||
    fail "$output"
  no_leftovers "$STALE"
}

@test "Docker's default bridge: nothing checked at boot, nothing said; the diagnosis has nothing to check (exit 0)" {
  # e2e_run_node's flags, on the default bridge (no embedded resolver, as nerdctl gives).
  docker run -d --tty --cap-add NET_ADMIN --cap-add SYS_ADMIN --cap-add NET_RAW \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --security-opt systempaths=unconfined --cgroupns=private --tmpfs /tmp --tmpfs /run -v /var \
    --init=false --network bridge --dns 127.0.0.1 \
    --add-host host.docker.internal:127.0.0.1 --hostname "$BRIDGE" --name "$BRIDGE" \
    --label "$E2E_LABEL=node" -e E2E_SKIP_ENTRYPOINT=1 \
    -v "$E2E_DIR/shim.sh:/e2e/shim.sh:ro" --entrypoint /e2e/shim.sh "$IMAGE" sleep infinity >/dev/null
  run docker exec "$BRIDGE" /usr/local/bin/entrypoint true
  [[ $status == 0 ]] || fail "status $status" "$output"
  ! grep -q 'DNS' <<<"$output" || fail "$output"
  diagnose "$BRIDGE"
  [[ $status == 0 ]] || fail "status $status" "$output"
  ! grep -q '^probe' <<<"$output" || fail "$output"
  [[ $(tail -n 1 <<<"$output") == "verdict: nothing to check: no embedded resolver (no Docker DNS rules, not podman); the node uses 127.0.0.1, which is not asked" ]] ||
    fail "$output"
}
