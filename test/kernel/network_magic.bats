#!/usr/bin/env bats
# The port's network magic against kind's original, on the real kernel: each scenario runs in a
# throwaway sandbox (test/kernel/sandbox.sh) and the resulting state blobs must be equal. With
# KIND_ORIGINAL_ENTRYPOINT set the original runs live (and the committed golden must still match
# it); without it the port is compared with test/golden/. Needs root.

setup_file() {
  if [[ "$(id -u)" != 0 ]]; then
    skip "needs root: network namespaces, mounts and iptables"
  fi
  if ! unshare --net --mount --uts true 2>/dev/null; then
    skip "cannot create network/mount/UTS namespaces here (needs CAP_SYS_ADMIN and CAP_NET_ADMIN)"
  fi
  if [[ -z "${KIND_ORIGINAL_ENTRYPOINT:-}" ]]; then
    echo "# KIND_ORIGINAL_ENTRYPOINT unset: comparing with goldens in test/golden/" >&3
  fi
}

setup() {
  load lib.sh
  [[ -f "${REPO_DIR}/dist/entrypoint.js" ]] || fail "no dist/entrypoint.js: run npm run build"
}

fail() {
  printf '%s\n' "$@" >&2
  return 1
}

# expect_same EXPECTED_FILE ACTUAL_FILE WHAT: fails with a unified diff.
expect_same() {
  if ! diff -u --label "$3: expected" --label "$3: actual" "$1" "$2" >&2; then
    return 1
  fi
}

# check_scenario SCENARIO BACKEND: the port's state equals the original's (live or golden), or, for
# a scenario marked SCN_PORT_DIFFERS, differs from it by exactly the reviewed lines of
# test/golden/SCENARIO.BACKEND.port.diff (each group there gives its reason). Leaves the port's
# blob in $BATS_TEST_TMPDIR/port.txt for extra assertions.
check_scenario() {
  local scenario=$1 backend=$2 golden reviewed differs original
  golden="$(golden_file "$scenario" "$backend")"
  reviewed="$(golden_file "$scenario" "$backend" port)"
  differs="$(scenario_var "$scenario" SCN_PORT_DIFFERS)"
  run_sandbox port "$scenario" "$backend" >"${BATS_TEST_TMPDIR}/port.txt"
  original="$golden"
  if [[ -n "${KIND_ORIGINAL_ENTRYPOINT:-}" ]]; then
    run_sandbox original "$scenario" "$backend" >"${BATS_TEST_TMPDIR}/original.txt"
    expect_same "$golden" "${BATS_TEST_TMPDIR}/original.txt" \
      "golden ${golden#"${REPO_DIR}/"} is stale (npm run golden)"
    original="${BATS_TEST_TMPDIR}/original.txt"
  fi
  [[ -f "$golden" ]] || fail "missing golden ${golden}: run npm run golden"
  if [[ -z "$differs" ]]; then
    expect_same "$original" "${BATS_TEST_TMPDIR}/port.txt" "original vs port"
    return
  fi
  [[ -f "$reviewed" ]] || fail "missing ${reviewed}: npm run golden -- --port ${scenario}, then give each group its reason"
  ! grep -q '^# why: TODO' "$reviewed" || fail "${reviewed#"${REPO_DIR}/"}: a group has no reason yet"
  blob_changes "$original" "${BATS_TEST_TMPDIR}/port.txt" >"${BATS_TEST_TMPDIR}/changes.txt"
  expected_changes "$reviewed" >"${BATS_TEST_TMPDIR}/expected-changes.txt"
  expect_same "${BATS_TEST_TMPDIR}/expected-changes.txt" "${BATS_TEST_TMPDIR}/changes.txt" \
    "changes from the original (documented difference: ${differs})"
}

# section NAME [RUN]: one "## NAME" section of the port's blob (of run RUN when there are several).
section() {
  awk -v want="## $1" -v run="${2:-1}" '
    /^## run [0-9]+$/ { current = $3 + 0; next }
    { if (current == 0) current = 1 }
    /^## / { inside = ($0 == want && current == run); next }
    inside && NF { print }
  ' "${BATS_TEST_TMPDIR}/port.txt"
}

@test "standard Docker rules (nft): the port matches the original" {
  check_scenario standard nft
}

@test "standard Docker rules (legacy): the port matches the original" {
  check_scenario standard legacy
}

@test "rules saved without --dport (nft): the port matches the original and restores --dport 53" {
  check_scenario no-dport nft
  [[ "$(section "iptables-save -t nat" | grep -c -- '-j DNAT .*--dport 53\|--dport 53 -j DNAT')" == 2 ]]
}

@test "rules saved without --dport (legacy): the port matches the original" {
  check_scenario no-dport legacy
}

@test "other tables and chains (nft): the port matches the original" {
  check_scenario extra-tables nft
}

@test "other tables and chains (legacy): the port matches the original" {
  check_scenario extra-tables legacy
}

@test "comments and filter rules naming 127.0.0.11, search-like lines (nft): the port matches the original" {
  check_scenario quirks nft
}

@test "comments and filter rules naming 127.0.0.11, search-like lines (legacy): the port matches the original" {
  check_scenario quirks legacy
}

@test "no Docker DNS rules (nft): the port matches the original" {
  check_scenario no-docker-rules nft
}

@test "no Docker DNS rules (legacy): the port matches the original" {
  check_scenario no-docker-rules legacy
}

@test "Docker's native nftables DNS table: the port rewrites it (the original cannot see it)" {
  check_scenario docker-nftables-native nft
  section "nft tables not managed by iptables" | grep -q 'ip daddr 172.30.0.1 udp dport 53'
}

@test "host.docker.internal pinned to 172.30.0.254 (nft): the port matches the original" {
  check_scenario hdi-pinned nft
  section "/etc/resolv.conf" | grep -qx 'nameserver 172.30.0.254'
}

@test "host.docker.internal pinned to 172.30.0.254 (legacy): the port matches the original" {
  check_scenario hdi-pinned legacy
}

@test "host.docker.internal on 127.0.0.1: the port matches the original (gateway fallback)" {
  check_scenario hdi-loopback nft
  section "/etc/resolv.conf" | grep -qx 'nameserver 172.30.0.1'
}

@test "host.docker.internal on 127.0.1.1: the port matches the original (gateway fallback)" {
  check_scenario hdi-loopback-other nft
}

@test "host.docker.internal with only an IPv6 entry: the port matches the original" {
  check_scenario hdi-ipv6-only nft
}

@test "Docker's DNS never answers: the port matches the original (5 s cap, gateway fallback)" {
  local ms
  check_scenario hdi-dns-timeout nft
  section "/etc/resolv.conf" | grep -qx 'nameserver 172.30.0.1'
  # The port's run alone (not the sandbox's set-up, which a loaded machine slows), timed by the
  # sandbox: uncapped, glibc's two tries of 5 s would take 10 s.
  ms="$(SANDBOX_TIMING=1 run_sandbox port hdi-dns-timeout nft 2>&1 >/dev/null |
    sed -n 's/^sandbox: port run 1 took \([0-9]*\) ms$/\1/p')"
  echo "the port's run took ${ms} ms"
  [[ -n "$ms" ]] && ((ms < 10000))
}

@test "KIND_DNS_SEARCH empty: the port matches the original" {
  check_scenario dns-search-empty nft
  if section "/etc/resolv.conf" | grep -q '^search'; then fail "a search line is left"; fi
}

@test "KIND_DNS_SEARCH set: the port matches the original" {
  check_scenario dns-search-set nft
  [[ "$(section "/etc/resolv.conf" | head -n 1)" == "search a.example b.example" ]]
}

@test "older Docker resolv.conf with KIND_DNS_SEARCH: the port matches the original" {
  check_scenario resolv-docker-legacy nft
}

@test "resolv.conf without a final newline: the port matches the original" {
  check_scenario resolv-no-trailing-newline nft
}

@test "resolv.conf ending in blank lines: the port matches the original" {
  check_scenario resolv-trailing-blank-lines nft
}

@test "same IPv4 after restart: the port matches the original (nothing rewritten)" {
  check_scenario old-ipv4-same nft
  [[ "$(section "kubeadm calls")" == "(absent)" ]]
}

@test "old-ipv4 with a final newline: the port matches the original (same address)" {
  check_scenario old-ipv4-trailing-newline nft
  [[ "$(section "kubeadm calls")" == "(absent)" ]]
}

@test "hostname pinned to IPv6 only: the port matches the original (empty IPv4)" {
  check_scenario hostname-ipv6-only nft
}

@test "new IPv4 after restart (nft): the port matches the original (whole-word rewrite, kubeadm)" {
  check_scenario old-ipv4-changed nft
  section "/etc/kubernetes/manifests/kube-apiserver.yaml" | grep -q -- '--advertise-address=172.30.0.2$'
  section "/etc/kubernetes/manifests/kube-apiserver.yaml" | grep -q 'must stay: 172.30.0.50 '
  section "kubeadm calls" | grep -qx 'argv: init phase certs apiserver --config /kind/kubeadm.conf'
}

@test "new IPv4 after restart (legacy): the port matches the original" {
  check_scenario old-ipv4-changed legacy
}

@test "new IPv4 on a worker without apiserver certificate: the port matches the original" {
  check_scenario old-ipv4-changed-no-certs nft
  [[ "$(section "kubeadm calls")" == "(absent)" ]]
}

@test "old IPv4 but no current IPv4: the port matches the original (error, exit 1)" {
  check_scenario old-ipv4-no-current nft
  [[ "$(section "exit status")" == 1 ]]
}

@test "new IPv6 after restart: the port matches the original (whole-word rewrite, kubeadm)" {
  check_scenario old-ipv6-changed nft
  section "/etc/kubernetes/manifests/kube-apiserver.yaml" | grep -q 'must stay: .* fc00:f853:ccd:e793::50 '
}

@test "old IPv6 but an IPv4-only hosts file: the port matches the original (v4-mapped address)" {
  check_scenario old-ipv6-v4mapped nft
  [[ "$(section "/kind/old-ipv6" | head -n 1)" == "::ffff:172.30.0.2" ]]
}

@test "127.0.0.110 next to 127.0.0.11: the port rewrites exact addresses only (documented difference)" {
  check_scenario lookalike-ip nft
  section "iptables-save -t nat" | grep -q -- '-A OTHER -d 127.0.0.110/32'
  section "/etc/resolv.conf" | grep -qx 'nameserver 127.0.0.110'
}

@test "domain line with KIND_DNS_SEARCH: the port drops it (documented difference)" {
  check_scenario resolv-domain nft
  if section "/etc/resolv.conf" | grep -q '^domain'; then fail "the domain line is left"; fi
  [[ "$(section "/etc/resolv.conf" | head -n 1)" == "search a.example" ]]
}

@test "resolv.conf of only search lines, KIND_DNS_SEARCH set: the port writes the search line and goes on (documented difference)" {
  check_scenario resolv-search-only-set nft
  [[ "$(section "exit status")" == 0 ]]
  [[ "$(section "/etc/resolv.conf")" == "search a.example" ]]
}

@test "resolv.conf of only search lines, KIND_DNS_SEARCH empty: the port stops and leaves it as it was (documented difference)" {
  check_scenario resolv-search-only-empty nft
  [[ "$(section "exit status")" == 1 ]]
  section "/etc/resolv.conf" | grep -qx 'search other.example'
}

@test "no default route and no host.docker.internal (nft): the port errors before any change (documented difference)" {
  check_scenario no-route-no-hdi nft
  [[ "$(section "exit status")" == 1 ]]
  section "stderr" | grep -q '^ERROR: .*host.docker.internal.*default route'
  section "iptables-save -t nat" | grep -q -- '-A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT'
  [[ "$(section "/etc/resolv.conf.original")" == "(absent)" ]]
}

@test "no default route and no host.docker.internal (legacy): the port errors before any change (documented difference)" {
  check_scenario no-route-no-hdi legacy
  [[ "$(section "exit status")" == 1 ]]
}

@test "two default routes: the port errors naming the routes (documented difference)" {
  check_scenario two-default-routes nft
  [[ "$(section "exit status")" == 1 ]]
  section "stderr" | grep -q '^ERROR: .*2 IPv4 default routes'
  [[ "$(section "/etc/resolv.conf.original")" == "(absent)" ]]
}

@test "run twice: the port is idempotent (documented difference)" {
  check_scenario run-twice nft
  [[ "$(section "iptables-save -t nat" 2 | grep -c '^-A PREROUTING')" == 1 ]]
  section "/etc/resolv.conf.original" 2 | grep -qx 'nameserver 127.0.0.11'
}

@test "every scenario and backend has a test in this file" {
  local scenario backend missing=()
  for scenario in $(scenario_names); do
    for backend in $(scenario_var "$scenario" SCN_BACKENDS); do
      grep -q "check_scenario ${scenario} ${backend}\$" "${BATS_TEST_FILENAME}" ||
        missing+=("${scenario} ${backend}")
    done
  done
  [[ ${#missing[@]} -eq 0 ]] || fail "scenarios without a test: ${missing[*]}"
}
