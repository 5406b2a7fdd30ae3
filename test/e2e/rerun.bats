#!/usr/bin/env bats
# Run twice: `docker exec NODE /usr/local/bin/entrypoint true` in a node that booted through the
# entrypoint to systemd. The port must leave the node exactly as it was (raw state.sh; only the
# chains' packet counters may grow, never fall) and pod DNS must still work; kind's original
# shows its known faults (a second PREROUTING -> DOCKER_OUTPUT jump, stacked bind mounts,
# resolv.conf.original overwritten with the rewritten file, a new machine-id under a running
# systemd).
#
# Nodes: PORT (our image) and ORIG (the original, only with KIND_ORIGINAL_ENTRYPOINT).

# shellcheck source=test/e2e/lib.sh
source "$BATS_TEST_DIRNAME/lib.sh"

NODE_PORT=kets-rerun-port
NODE_ORIG=kets-rerun-orig

setup_file() {
  export E2E_FILE_START=$SECONDS
  e2e_ensure_dockerd
  e2e_rm "$NODE_PORT" "$NODE_ORIG"
  local image
  image="$(e2e_node_image)"
  e2e_network
  e2e_egress_guard_on
  # Fake DMI: the product bind mounts are among those the original stacks.
  e2e_run_node "$NODE_PORT" "$image" -e E2E_FAKE_DMI=1 >/dev/null 2>&1
  if [[ -n ${KIND_ORIGINAL_ENTRYPOINT:-} ]]; then
    e2e_run_node "$NODE_ORIG" "$(e2e_original_image)" -e E2E_FAKE_DMI=1 >/dev/null 2>&1
    e2e_wait_booted "$NODE_ORIG"
  fi
  e2e_wait_booted "$NODE_PORT"
  HOST_IP="$(e2e_network_gateway)"
  export HOST_IP
}

teardown_file() {
  e2e_rm "$NODE_PORT" "$NODE_ORIG"
  e2e_egress_guard_off || true
  local orig port
  orig="$(cat "$BATS_FILE_TMPDIR/orig" 2>/dev/null || echo 'not run')"
  port="$(cat "$BATS_FILE_TMPDIR/port" 2>/dev/null || echo 'not run')"
  e2e_result rerun.bats 'run twice (docker exec NODE entrypoint true, after boot, fake DMI)' "$orig" "$port"
  e2e_result_time rerun.bats "$((SECONDS - E2E_FILE_START))" \
    "$(grep -c '^@test' "$BATS_TEST_FILENAME")"
}

# state_section STATE SECTION: the lines of one section of a state.sh blob.
state_section() {
  awk -v want="### $2" '/^### / { on = ($0 == want); next } on' <<<"$1"
}

# Facts for the results table: PREROUTING jumps, mounts, resolv.conf.original's nameserver.
facts() {
  local state=$1
  printf 'PREROUTING jumps %s, %s mounts, resolv.conf.original: %s, machine-id %s' \
    "$(grep -c '^-A PREROUTING .*-j DOCKER_OUTPUT' <<<"$(state_section "$state" iptables-nft-save)")" \
    "$(state_section "$state" mount-count)" \
    "$(state_section "$state" /etc/resolv.conf.original | awk '/^nameserver/ { print $2; exit }')" \
    "$(state_section "$state" /etc/machine-id | cut -c1-8)"
}

# without_counters STATE: the state with the `[packets:bytes]` of iptables-save's chain lines
# replaced by `[counters]`.
without_counters() {
  sed -E 's/^(:[^ ]+ [^ ]+) \[[0-9]+:[0-9]+\]$/\1 [counters]/' <<<"$1"
}

# counters_never_fall BEFORE AFTER: fails naming the chain whose packet or byte count went down.
counters_never_fall() {
  paste -d ' ' <(grep -E '^:[^ ]+ [^ ]+ \[[0-9]+:[0-9]+\]$' <<<"$1") \
    <(grep -E '^:[^ ]+ [^ ]+ \[[0-9]+:[0-9]+\]$' <<<"$2") |
    awk '{
      split(substr($3, 2, length($3) - 2), b, ":"); split(substr($6, 2, length($6) - 2), a, ":")
      if ($1 != $4 || a[1] + 0 < b[1] + 0 || a[2] + 0 < b[2] + 0) {
        print "counters fell or chains differ: " $0
        bad = 1
      }
    } END { exit bad }'
}

@test "the port run again in a booted node leaves its state byte for byte as it was" {
  local before after
  before="$(bash "$BATS_TEST_DIRNAME/state.sh" --raw "$NODE_PORT")"
  run docker exec "$NODE_PORT" /usr/local/bin/entrypoint true
  echo "$output"
  [ "$status" -eq 0 ]
  # It knows it ran before: the machine-id of the running systemd stays.
  grep -qx 'INFO: keeping /etc/machine-id: the entrypoint already ran in this container boot' <<<"$output"
  after="$(bash "$BATS_TEST_DIRNAME/state.sh" --raw "$NODE_PORT")"
  echo "before: $(facts "$before")" >"$BATS_FILE_TMPDIR/port"
  echo "after: $(facts "$after")" >>"$BATS_FILE_TMPDIR/port"
  # The boot's DNS check sends its queries again, so the built-in chains' packet counters may
  # grow; they must never fall, which a needless iptables-restore (it zeroes them) would show.
  counters_never_fall "$before" "$after"
  diff -u --label 'before the second run' --label 'after the second run' \
    <(without_counters "$before") <(without_counters "$after")
  # The same, spelled out: what the original gets wrong is right here.
  [ "$(grep -c '^-A PREROUTING .*-j DOCKER_OUTPUT' <<<"$after")" -eq 1 ]
  grep -qx 'nameserver 127.0.0.11' <<<"$(state_section "$after" /etc/resolv.conf.original)"
  echo "identical: $(facts "$after")" >"$BATS_FILE_TMPDIR/port"
}

@test "after the port's second run, pods still resolve names through the host IP (UDP, TCP)" {
  run e2e_pod_dns_check "$NODE_PORT" "$HOST_IP" "$NODE_PORT"
  [ "$status" -eq 0 ]
  [ "$output" = "$(e2e_node_ip "$NODE_PORT")" ]
  run e2e_pod_dns_check "$NODE_PORT" "$HOST_IP" "$NODE_PORT" +tcp
  [ "$status" -eq 0 ]
  [ "$output" = "$(e2e_node_ip "$NODE_PORT")" ]
  echo "pod DNS ok" >>"$BATS_FILE_TMPDIR/port"
}

@test "the original run again shows its faults: second jump, more mounts, .original overwritten" {
  [[ -n ${KIND_ORIGINAL_ENTRYPOINT:-} ]] || {
    echo 'no original (KIND_ORIGINAL_ENTRYPOINT unset)' >"$BATS_FILE_TMPDIR/orig"
    skip 'KIND_ORIGINAL_ENTRYPOINT is not set: the original half needs the live script'
  }
  local before after
  before="$(bash "$BATS_TEST_DIRNAME/state.sh" --raw "$NODE_ORIG")"
  run docker exec "$NODE_ORIG" /usr/local/bin/entrypoint true
  [ "$status" -eq 0 ]
  after="$(bash "$BATS_TEST_DIRNAME/state.sh" --raw "$NODE_ORIG")"
  echo "faults: $(facts "$before") -> $(facts "$after")" >"$BATS_FILE_TMPDIR/orig"
  [ "$(grep -c '^-A PREROUTING .*-j DOCKER_OUTPUT' <<<"$before")" -eq 1 ]
  [ "$(grep -c '^-A PREROUTING .*-j DOCKER_OUTPUT' <<<"$after")" -eq 2 ]
  (($(state_section "$after" mount-count) > $(state_section "$before" mount-count)))
  # .original now holds the rewritten file: the host IP, not Docker's 127.0.0.11.
  [ "$(state_section "$after" /etc/resolv.conf.original)" = "$(state_section "$before" /etc/resolv.conf)" ]
  grep -qx "nameserver $HOST_IP" <<<"$(state_section "$after" /etc/resolv.conf.original)"
  [ "$(state_section "$after" /etc/machine-id)" != "$(state_section "$before" /etc/machine-id)" ]
}

@test "no packet from the rerun nodes tried to leave the machine" {
  [ "$(e2e_egress_guard_packets)" -eq 0 ]
}
