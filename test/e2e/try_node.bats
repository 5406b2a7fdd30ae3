#!/usr/bin/env bats
# `npm run try-node` (scripts/try-node.sh) as the README's walkthrough uses it, on the test bed's
# image: the node boots, takes KIND_DNS_SEARCH, and its DNS diagnosis is healthy (exit 0) because
# the stand-in base turns route_localnet on as kind's node image does; a node that stops before
# systemd has its log printed once. The diagnosis asks only Docker's embedded resolver, for the
# node's own name: the egress guard's counter must stay 0.

source "$BATS_TEST_DIRNAME/lib.sh"

NODE=kets-try-node
BAD=kets-try-node-bad

setup_file() {
  e2e_ensure_dockerd
  e2e_rm "$NODE" "$BAD"
  IMAGE="$(e2e_node_image)"
  export IMAGE
  e2e_network
  e2e_egress_guard_on
}

teardown_file() {
  e2e_rm "$NODE" "$BAD"
  e2e_egress_guard_off
}

fail() {
  printf '%s\n' "$@" >&2
  return 1
}

@test "try-node boots a node, and the walkthrough's diagnosis of it says OK with exit 0" {
  run bash "$E2E_REPO/scripts/try-node.sh" "$NODE" -e KIND_DNS_SEARCH=example.test
  [[ $status == 0 ]] || fail "try-node: status $status" "$output"
  [[ $output == *"try-node: $NODE booted"* ]] || fail "$output"
  run docker exec "$NODE" cat /etc/resolv.conf
  [[ $output == *"search example.test"* ]] || fail "$output"
  run docker exec -e KIND_ENTRYPOINT_DIAGNOSE=1 "$NODE" /usr/local/bin/entrypoint
  [[ $status == 0 ]] || fail "diagnosis: status $status" "$output"
  [[ $output == *"route_localnet:       all=1"* ]] || fail "$output"
  [[ $(tail -n 1 <<<"$output") == "verdict: OK: "* ]] || fail "$output"
}

@test "try-node prints the log of a node that stops before systemd once" {
  run bash "$E2E_REPO/scripts/try-node.sh" "$BAD" -e KIND_ENTRYPOINT_DRY_RUN=on
  [[ $status == 1 ]] || fail "try-node: status $status" "$output"
  [[ $output == *"try-node: $BAD did not reach Multi-User System"* ]] || fail "$output"
  [[ $(grep -c '^ERROR: ' <<<"$output") == 1 ]] || fail "the ERROR line is not printed once:" "$output"
}
