#!/usr/bin/env bats
# The container scenarios (scenarios.sh): for each, a port node and, when KIND_ORIGINAL_ENTRYPOINT
# is set, an original node are started with the same docker arguments; their normalized states
# (state.sh) must be equal, and the committed golden must equal the live original's state (else
# it is stale: regenerate it with `bash test/e2e/scenarios.sh --golden NAME`). Without the
# original the port is compared with the golden.
#
# All nodes start at once in setup_file; each test waits for its own. Only the systemd scenario
# boots systemd, the others exec `sleep infinity` so the state is the entrypoint's alone.

# shellcheck source=test/e2e/scenarios.sh
source "$BATS_TEST_DIRNAME/scenarios.sh"

setup_file() {
  export E2E_FILE_START=$SECONDS
  e2e_ensure_dockerd
  local port orig=''
  port="$(e2e_node_image)"
  if scn_have_original; then
    orig="$(e2e_original_image)"
  else
    echo '# KIND_ORIGINAL_ENTRYPOINT is not set: comparing the port with test/e2e/golden/*.txt' >&3
  fi
  e2e_network
  e2e_egress_guard_on
  scn_start_all "$port" "$orig" "${E2E_SCENARIOS[@]}"
  HOST_IP="$(e2e_network_gateway)"
  export HOST_IP
}

teardown_file() {
  scn_rm "${E2E_SCENARIOS[@]}"
  e2e_egress_guard_off || true
  e2e_result_time scenarios.bats "$((SECONDS - E2E_FILE_START))" \
    "$(grep -c '^@test' "$BATS_TEST_FILENAME")"
}

# check_scenario NAME: scn_check, recorded as this file's row.
check_scenario() { scn_check scenarios.bats "$1"; }

@test "scenario default: kind's flags only, the same state as the original" {
  check_scenario default
}

@test "scenario hdi-host-gateway: host.docker.internal via host-gateway is the DNS host IP" {
  check_scenario hdi-host-gateway
  # Not the network gateway: the Docker-Desktop-like branch took host.docker.internal.
  docker exec "$(scn_node hdi-host-gateway port)" grep -qvx "nameserver $HOST_IP" /etc/resolv.conf
}

@test "scenario hdi-host-gateway: pods resolve another node through the host-gateway address" {
  local node peer hdi
  node="$(scn_node hdi-host-gateway port)"
  peer="$(scn_node default port)"
  hdi="$(docker exec "$node" awk '$2 == "host.docker.internal" && $1 !~ /^127\./ { print $1; exit }' /etc/hosts)"
  [ -n "$hdi" ]
  scn_wait default port
  run e2e_pod_dns_check "$node" "$hdi" "$peer"
  [ "$status" -eq 0 ]
  [ "$output" = "$(e2e_node_ip "$peer")" ]
  run e2e_pod_dns_check "$node" "$hdi" "$peer" +tcp
  [ "$status" -eq 0 ]
  [ "$output" = "$(e2e_node_ip "$peer")" ]
}

@test "scenario dns-search-unset: KIND_DNS_SEARCH unset keeps Docker's search line" {
  check_scenario dns-search-unset
}

@test "scenario dns-search-empty: KIND_DNS_SEARCH= drops the search lines" {
  check_scenario dns-search-empty
}

@test "scenario dns-search-set: KIND_DNS_SEARCH replaces the search line" {
  check_scenario dns-search-set
}

@test "scenario snapshotter-native: containerd's snapshotter becomes native" {
  check_scenario snapshotter-native
}

@test "scenario snapshotter-fuse-overlayfs: the snapshotter changes and the unit is enabled" {
  check_scenario snapshotter-fuse-overlayfs
}

@test "scenario snapshotter-fuse-overlayfs-no-unit: both stop with systemctl's status and log" {
  # Without a unit to enable (the bed's base has none), systemctl fails in both. The other
  # fuse-overlayfs scenario mounts a stand-in unit, so that the path kind's real image takes (the
  # unit exists, enable succeeds) is compared too; this one keeps the failure path honest.
  check_scenario snapshotter-fuse-overlayfs-no-unit
  local log
  log="$(e2e_logs "$(scn_node snapshotter-fuse-overlayfs-no-unit port)")"
  [ "$(grep -c '^ERROR: ' <<<"$log")" -eq 1 ]
  # shellcheck disable=SC2016 # backquotes are part of the message
  grep -qx 'ERROR: configure_containerd: Command `systemctl enable containerd-fuse-overlayfs` exited with status 1: .*' <<<"$log"
}

@test "scenario proxy: proxy variables reach systemd's DefaultEnvironment" {
  check_scenario proxy
}

@test "scenario fake-dmi: DMI product files are faked by bind mounts" {
  check_scenario fake-dmi
}

@test "scenario iptables-legacy: pre-loaded legacy rules make legacy the iptables mode" {
  check_scenario iptables-legacy
}

@test "scenario iptables-legacy: the port rewrites Docker's rules in iptables-nft, so DNS through the host IP works" {
  local node state
  node="$(scn_node iptables-legacy port)"
  scn_wait iptables-legacy port
  state="$(scn_state iptables-legacy port)"
  awk '/^### / { on = ($0 == "### iptables-nft-save") } on' <<<"$state" |
    grep -qx -- '-A PREROUTING -d <host-ip>/32 -j DOCKER_OUTPUT'
  # The node itself asks Docker's DNS through the host IP, as its resolv.conf says (one try of 5 s:
  # Docker's resolver on a loaded machine).
  run docker exec "$node" dig +short +time=5 +tries=1 "@$HOST_IP" "$(scn_node default port)"
  [[ $status -eq 0 && $output =~ ^[0-9.]+$ ]]
  if scn_have_original; then
    # kind's bash leaves Docker's nft rules on 127.0.0.11 while resolv.conf points at the host IP.
    node="$(scn_node iptables-legacy orig)"
    run docker exec "$node" dig +short +time=2 +tries=1 "@$HOST_IP" "$(scn_node default port)"
    [[ ! $output =~ ^[0-9.]+$ ]]
  fi
}

@test "scenario systemd: systemd as PID 1 reaches Multi-User System, same state as the original" {
  check_scenario systemd
}

@test "scenario cgroup2: on the unified hierarchy both take the v2 path, same state" {
  check_scenario cgroup2
  grep -qx 'INFO: detected cgroup v2' <<<"$(e2e_logs "$(scn_node cgroup2 port)")"
}

@test "scenario cgroup2-fake-dmi: the v2 path with DMI product files, same state" {
  check_scenario cgroup2-fake-dmi
}

@test "scenario cgroup2-systemd: systemd boots on the unified hierarchy, same state" {
  check_scenario cgroup2-systemd
}

@test "scenario default-bridge: no embedded DNS, a quiet no-op but for the mode on a tie" {
  check_scenario default-bridge
  local node log
  node="$(scn_node default-bridge port)"
  log="$(e2e_logs "$node")"
  # No rules in either backend: the port takes nft (docs/differences.md, row 31), kind's bash legacy.
  grep -qx 'INFO: setting iptables to detected mode: nft' <<<"$log"
  ! grep -qE '^(WARN|ERROR): ' <<<"$log" || false
  [ "$(docker exec "$node" cat /etc/resolv.conf)" = "$(docker exec "$node" cat /etc/resolv.conf.original)" ]
  [ -z "$(docker exec "$node" iptables-nft-save)" ]
  if scn_have_original; then
    grep -qx 'INFO: setting iptables to detected mode: legacy' \
      <<<"$(e2e_logs "$(scn_node default-bridge orig)")"
  fi
}

@test "no packet from the scenario nodes tried to leave the machine" {
  [ "$(e2e_egress_guard_packets)" -eq 0 ]
}
