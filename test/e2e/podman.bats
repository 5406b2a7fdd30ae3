#!/usr/bin/env bats
# The podman tier (podman.sh): kind's second provider, rootful podman with netavark and
# aardvark-dns. Each scenario of E2E_PODMAN_SCENARIOS runs a port node and, when
# KIND_ORIGINAL_ENTRYPOINT is set, an original node with the same podman arguments; their
# normalized states must be equal (else the port is compared with test/e2e/golden/podman-*.txt).
#
# podman's network has no 127.0.0.11 rules: the node asks aardvark-dns on the gateway, which
# pods reach as they are, so the network magic has nothing to move.

# shellcheck source=test/e2e/scenarios.sh
source "$BATS_TEST_DIRNAME/scenarios.sh"

setup_file() {
  export E2E_FILE_START=$SECONDS
  e2e_ensure_dockerd
  e2e_podman_ready
  local port orig=''
  port="$(e2e_podman_image "$(e2e_node_image)")"
  if scn_have_original; then
    orig="$(e2e_podman_image "$(e2e_original_image)")"
  else
    echo '# KIND_ORIGINAL_ENTRYPOINT is not set: comparing the port with test/e2e/golden/podman-*.txt' >&3
  fi
  e2e_podman_network
  e2e_egress_guard_on
  scn_start_all "$port" "$orig" "${E2E_PODMAN_SCENARIOS[@]}"
  GATEWAY="$(e2e_podman_gateway)"
  export GATEWAY
}

teardown_file() {
  scn_rm "${E2E_PODMAN_SCENARIOS[@]}"
  e2e_egress_guard_off || true
  e2e_result_time podman.bats "$((SECONDS - E2E_FILE_START))" \
    "$(grep -c '^@test' "$BATS_TEST_FILENAME")"
}

# podman NODE: the tier's engine for the lib.sh node functions.
setup() {
  export E2E_ENGINE=podman E2E_NETWORK=$E2E_PODMAN_NETWORK
}

check_scenario() { scn_check podman.bats "$1"; }

# wait_aardvark NODE: waits (at most 15 s) until aardvark-dns answers NODE's own name over UDP from
# inside NODE, and says so when it had to wait. The tests after the boot depend on the podman
# network, which the tier's other nodes keep changing as they start and stop (aardvark-dns 1.4
# reloads, netavark rewrites rules); a path that stays down fails here, naming the test bed.
wait_aardvark() {
  local node=$1 i
  for ((i = 0; i < 30; i++)); do
    if e2e_cli exec "$node" dig +short +time=1 +tries=1 "@$GATEWAY" "$node" A 2>/dev/null |
      grep -qE '^[0-9.]+$'; then
      ((i == 0)) || echo "# aardvark-dns answered $node after about $((i / 2)) s of waiting" >&3
      return 0
    fi
    sleep 0.5
  done
  echo "aardvark-dns at $GATEWAY did not answer $node from inside it within 15 s: the test bed's podman network is down" >&2
  return 1
}

@test "podman default: the same state as the original, resolv.conf as podman wrote it" {
  check_scenario podman-default
  local node
  node="$(scn_node podman-default port)"
  # Nothing to move: aardvark's address and podman's search domain stay, no rules are added.
  run e2e_cli exec "$node" cat /etc/resolv.conf
  grep -qx 'search dns.podman' <<<"$output"
  grep -qx "nameserver $GATEWAY" <<<"$output"
  [ "$(e2e_cli exec "$node" cat /etc/resolv.conf.original)" = "$output" ]
  [ -z "$(e2e_cli exec "$node" iptables-save)" ]
  # No rules in either backend: the port takes nft (docs/differences.md, row 31), kind's bash legacy.
  grep -qx 'INFO: setting iptables to detected mode: nft' <<<"$(e2e_logs "$node")"
  if scn_have_original; then
    grep -qx 'INFO: setting iptables to detected mode: legacy' \
      <<<"$(e2e_logs "$(scn_node podman-default orig)")"
  fi
}

@test "podman default: the boot's DNS check is silent, and the diagnosis asks aardvark-dns from the node (exit 0)" {
  local node
  node="$(scn_node podman-default port)"
  scn_wait podman-default port
  [ "$(grep -c '^WARN: DNS' <<<"$(e2e_logs "$node")")" -eq 0 ]
  wait_aardvark "$node"
  run e2e_cli exec "$node" env KIND_ENTRYPOINT_DIAGNOSE=1 /usr/local/bin/entrypoint
  echo "$output"
  [ "$status" -eq 0 ]
  grep -qx 'container runtime:    podman' <<<"$output"
  grep -qE "^probe from the node -> $GATEWAY:53 for $node: UDP answered" <<<"$output"
  grep -qE "^verdict: OK: the node reaches $GATEWAY for $node over UDP" <<<"$output"
}

# pod_tcp_outcome NODE NAME: what a pod in NODE gets asking aardvark for NAME over TCP: the
# address, `refused` (the gateway answered with a reset: Debian 12's aardvark-dns 1.4 has no TCP
# listener) or the failure dig printed.
pod_tcp_outcome() {
  local out
  e2e_pod_netns "$1" || return 1
  out="$(e2e_cli exec "$1" ip netns exec pod dig +short +tcp +time=2 +tries=1 "@$GATEWAY" "$2" A 2>&1)" || true
  if grep -qE '^[0-9.]+$' <<<"$out"; then grep -E '^[0-9.]+$' <<<"$out"
  elif grep -q 'connection refused' <<<"$out"; then echo refused
  else printf '%s\n' "$out" | tail -n1; fi
}

@test "podman default: a pod resolves another node's name (bare and .dns.podman) through aardvark-dns over UDP, and reaches it over TCP" {
  local node peer impl tcp
  peer="$(scn_node podman-dns-search-set port)"
  scn_wait podman-dns-search-set port
  for impl in port orig; do
    [[ $impl == port ]] || scn_have_original || continue
    node="$(scn_node podman-default "$impl")"
    scn_wait podman-default "$impl"
    wait_aardvark "$node"
    run e2e_pod_dns_check "$node" "$GATEWAY" "$peer"
    [ "$status" -eq 0 ]
    [ "$output" = "$(e2e_node_ip "$peer")" ]
    # aardvark answers the name with podman's domain as well (docs/runtimes.md: why dns.podman is kept).
    run e2e_pod_dns_check "$node" "$GATEWAY" "$peer.dns.podman"
    [ "$status" -eq 0 ]
    [ "$output" = "$(e2e_node_ip "$peer")" ]
    # TCP needs no rule either: the answer, or aardvark's refusal, comes back through the node.
    tcp="$(pod_tcp_outcome "$node" "$peer")"
    echo "$impl over TCP: $tcp"
    [[ $tcp == "$(e2e_node_ip "$peer")" || $tcp == refused ]]
  done
}

@test "podman KIND_DNS_SEARCH set: dns.podman is replaced" {
  check_scenario podman-dns-search-set
}

@test "podman KIND_DNS_SEARCH empty: dns.podman is dropped" {
  check_scenario podman-dns-search-empty
  ! e2e_cli exec "$(scn_node podman-dns-search-empty port)" grep -q '^search' /etc/resolv.conf
}

@test "podman restart: a new address, rewritten in manifests (whole words) and /kind/old-ipv4" {
  check_scenario podman-restart
  local node log old new
  node="$(scn_node podman-restart port)"
  log="$(e2e_logs "$node")"
  old="$(sed -nE 's/^INFO: detected old IPv4 address: //p' <<<"$log")"
  new="$(e2e_node_ip "$node")"
  [ -n "$old" ]
  [ "$new" != "$old" ]
  diff -u <(printf '%s\n' "advertise-address: $new" "url: https://$new:6443" \
    "longer-address-kept: ${old}0") <(e2e_cli exec "$node" cat "$E2E_RESTART_MANIFEST")
  [ "$(e2e_cli exec "$node" cat /kind/old-ipv4)" = "$new" ]
}

@test "podman --userns=auto on cgroup v1: both stop in fix_cgroup, the port with one ERROR line" {
  check_scenario podman-userns
  local log
  log="$(e2e_logs "$(scn_node podman-userns port)")"
  grep -qx 'INFO: running in a user namespace (experimental)' <<<"$log"
  [ "$(grep -c '^ERROR: ' <<<"$log")" -eq 1 ]
  grep -q '^ERROR: fix_cgroup: ' <<<"$log"
}

@test "podman --userns=auto on a cgroup v2 view: validate_userns stops, controllers not delegated" {
  check_scenario podman-userns-cgroup2
  grep -qx 'ERROR: UserNS: cpu controller needs to be delegated' \
    <<<"$(e2e_logs "$(scn_node podman-userns-cgroup2 port)")"
}

@test "no packet from the podman nodes tried to leave the machine" {
  [ "$(e2e_egress_guard_packets)" -eq 0 ]
}
