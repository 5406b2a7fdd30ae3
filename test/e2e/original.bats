#!/usr/bin/env bats
# Proves the container test bed with kind's ORIGINAL entrypoint, which does not depend on any
# of our code: if these fail, the bed is broken, not the port. The script comes from the path in
# KIND_ORIGINAL_ENTRYPOINT and is copied into an image at test time only.
#
# Nodes: A and B run the original; BARE is the same base with the entrypoint skipped (control).

source "$BATS_TEST_DIRNAME/lib.sh"

NODE_A=kets-orig-a
NODE_B=kets-orig-b
NODE_BARE=kets-orig-bare

setup_file() {
  [[ -n ${KIND_ORIGINAL_ENTRYPOINT:-} ]] || skip 'KIND_ORIGINAL_ENTRYPOINT is not set'
  e2e_ensure_dockerd
  e2e_rm "$NODE_A" "$NODE_B" "$NODE_BARE"
  local original base
  original="$(e2e_original_image)"
  base="$(e2e_base_image)"
  e2e_network
  e2e_egress_guard_on
  # All three boot in parallel; the waits below then take about one boot.
  e2e_run_node "$NODE_A" "$original" >/dev/null 2>&1
  e2e_run_node "$NODE_B" "$original" >/dev/null 2>&1
  e2e_run_node "$NODE_BARE" "$base" -e E2E_SKIP_ENTRYPOINT=1 >/dev/null 2>&1
  e2e_wait_booted "$NODE_A"
  e2e_wait_booted "$NODE_B"
  e2e_wait_booted "$NODE_BARE"
  HOST_IP="$(e2e_network_gateway)"
  export HOST_IP
}

teardown_file() {
  e2e_rm "$NODE_A" "$NODE_B" "$NODE_BARE"
  e2e_egress_guard_off || true
}

@test "the original entrypoint execs systemd, which reaches Multi-User System" {
  local logs
  logs="$(e2e_logs "$NODE_A")"
  grep -qx 'INFO: starting init' <<<"$logs"
  grep -qE 'Reached target .*Multi-User System' <<<"$logs"
  [ "$(docker exec "$NODE_A" cat /proc/1/comm)" = systemd ]
}

@test "the original entrypoint detects cgroup v1 on this host" {
  [[ ! -e /sys/fs/cgroup/cgroup.controllers ]] || skip 'the host runs cgroup v2'
  grep -qx 'INFO: detected cgroup v1' <<<"$(e2e_logs "$NODE_A")"
}

@test "with the original, pod DNS through the host IP resolves another node over UDP" {
  run e2e_pod_dns_check "$NODE_A" "$HOST_IP" "$NODE_B"
  [ "$status" -eq 0 ]
  [ "$output" = "$(e2e_node_ip "$NODE_B")" ]
}

@test "with the original, pod DNS through the host IP resolves another node over TCP" {
  run e2e_pod_dns_check "$NODE_A" "$HOST_IP" "$NODE_B" +tcp
  [ "$status" -eq 0 ]
  [ "$output" = "$(e2e_node_ip "$NODE_B")" ]
}

@test "control: without the entrypoint, pod DNS through the host IP fails" {
  # The node's own resolver works, so the failure below is the missing rewrite, not the network.
  run docker exec "$NODE_BARE" dig +short +time=5 +tries=1 @127.0.0.11 "$NODE_B"
  [ "$output" = "$(e2e_node_ip "$NODE_B")" ]
  run e2e_pod_dns_check "$NODE_BARE" "$HOST_IP" "$NODE_B"
  [ "$status" -ne 0 ]
  run e2e_pod_dns_check "$NODE_BARE" "$HOST_IP" "$NODE_B" +tcp
  [ "$status" -ne 0 ]
}

@test "control: with the rules rewritten but route_localnet=0, pod DNS fails" {
  e2e_pod_netns "$NODE_A"
  docker exec "$NODE_A" sysctl -qw net.ipv4.conf.all.route_localnet=0
  run e2e_pod_dns_check "$NODE_A" "$HOST_IP" "$NODE_B"
  docker exec "$NODE_A" sysctl -qw net.ipv4.conf.all.route_localnet=1
  [ "$status" -ne 0 ]
  # And it is that sysctl alone: switched back on, the same query works again.
  e2e_pod_dns_check "$NODE_A" "$HOST_IP" "$NODE_B"
}

@test "docker stop shuts an original node down through systemd, not docker's SIGKILL" {
  e2e_stops_through_systemd "$NODE_B"
}

@test "no packet from the original's nodes tried to leave the machine" {
  [ "$(e2e_egress_guard_packets)" -eq 0 ]
}
