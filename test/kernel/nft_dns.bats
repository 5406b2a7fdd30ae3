#!/usr/bin/env bats
# Pod DNS on the real kernel when Docker uses its nftables firewall backend (table ip docker-dns):
# kind's original leaves the table alone and pods lose DNS; the port rewrites it and pods resolve
# over UDP and TCP. With Docker's iptables backend the port runs no `nft -f`. Each test builds a
# node, a host and a pod namespace with test/kernel/nft_dns_sandbox.sh (~0.5 s). Needs root.

setup_file() {
  if [[ "$(id -u)" != 0 ]]; then
    skip "needs root: network namespaces, mounts and nftables"
  fi
}

setup() {
  REPO_DIR="$(cd "${BATS_TEST_DIRNAME}/../.." && pwd)"
}

fail() {
  printf '%s\n' "$@" >&2
  return 1
}

# sandbox IMPL BACKEND [RUNS]: runs the sandbox, keeps the blob in $BLOB and shows it on failure.
sandbox() {
  BLOB="${BATS_TEST_TMPDIR}/$1-$2.txt"
  bash "${REPO_DIR}/test/kernel/nft_dns_sandbox.sh" "$@" >"$BLOB" || fail "sandbox failed: $*"
  echo "--- state of: $*" && cat "$BLOB"
}

# section NAME: one "## NAME" section of $BLOB, without its heading.
section() {
  awk -v want="## $1" '
    $0 == want { inside = 1; next }
    /^## / { inside = 0 }
    inside && $0 != "" { print }
  ' "$BLOB"
}

# expect SECTION EXPECTED: the section equals EXPECTED exactly.
expect() {
  local actual
  actual="$(section "$1")"
  [[ "$actual" == "$2" ]] || fail "section \"$1\":" "expected: $2" "actual:   ${actual}"
}

skip_without_original() {
  if [[ -z "${KIND_ORIGINAL_ENTRYPOINT:-}" ]]; then
    skip "KIND_ORIGINAL_ENTRYPOINT unset: the original's half is not run"
  fi
}

POD_RESOLVES_UDP="pod: dig udp @172.30.0.1 other-node.test"
POD_RESOLVES_TCP="pod: dig tcp @172.30.0.1 other-node.test"

REWRITTEN_TABLE="table ip docker-dns {
	chain dns-dnat {
		type nat hook output priority -100; policy accept;
		ip daddr 172.30.0.1 udp dport 53 counter dnat to 127.0.0.11:45927
		ip daddr 172.30.0.1 tcp dport 53 counter dnat to 127.0.0.11:37619
	}
	chain dns-snat {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 127.0.0.11 udp sport 45927 counter snat to 172.30.0.1:53
		ip saddr 127.0.0.11 tcp sport 37619 counter snat to 172.30.0.1:53
	}
	chain dns-dnat-prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr 172.30.0.1 udp dport 53 counter dnat to 127.0.0.11:45927
		ip daddr 172.30.0.1 tcp dport 53 counter dnat to 127.0.0.11:37619
	}
}"

# expect_pod_dns_through_rules: both queries answered, UDP by the resolver at the UDP port of the
# rules and TCP by the one at the TCP port.
expect_pod_dns_through_rules() {
  expect "$POD_RESOLVES_UDP" "172.30.0.3"
  expect "resolver queries after the udp dig (udp port, tcp port)" "1 0"
  expect "$POD_RESOLVES_TCP" "172.30.0.3"
  expect "resolver queries after the tcp dig (udp port, tcp port)" "1 1"
}

# expect_nft_applies RUN N: run RUN of the implementation ran `nft -f -` N times.
expect_nft_applies() {
  local count
  count="$(section "run $1: nft calls" | grep -c '^nft -f -$' || true)"
  [[ "$count" == "$2" ]] || fail "run $1 ran nft -f ${count} times, expected $2"
}

expect_pod_dns_broken() {
  [[ "$(section "$POD_RESOLVES_UDP")" != *172.30.0.3* ]] || fail "pod resolved over UDP"
  [[ "$(section "$POD_RESOLVES_TCP")" != *172.30.0.3* ]] || fail "pod resolved over TCP"
  expect "resolver queries after the tcp dig (udp port, tcp port)" "0 0"
}

@test "nftables backend: the port rewrites table ip docker-dns in one nft -f and pods resolve" {
  sandbox driver nftables
  expect "run 1: exit status" "0"
  expect "run 1: stderr" "(empty)"
  expect_nft_applies 1 1
  expect "nft list table ip docker-dns" "$REWRITTEN_TABLE"
  expect "/etc/resolv.conf nameserver" "nameserver 172.30.0.1"
  expect_pod_dns_through_rules
}

@test "nftables backend: a second run of the port lists the table and changes nothing" {
  sandbox driver nftables 2
  expect "run 2: exit status" "0"
  expect_nft_applies 1 1
  expect_nft_applies 2 0
  [[ "$(section "run 2: nft calls")" == *"nft list table ip docker-dns"* ]] ||
    fail "the second run did not look at the table"
}

@test "nftables backend: kind's original rewrites nothing and pods lose DNS" {
  skip_without_original
  sandbox original nftables
  expect "run 1: exit status" "0"
  expect "run 1: nft calls" "(empty)"
  [[ "$(section "nft list table ip docker-dns")" == *"ip daddr 127.0.0.11 udp dport 53"* ]] ||
    fail "the original changed Docker's table"
  expect "/etc/resolv.conf nameserver" "nameserver 172.30.0.1"
  expect_pod_dns_broken
}

@test "nftables backend: without any rewrite pods cannot resolve (control)" {
  sandbox none nftables
  expect_pod_dns_broken
}

@test "iptables backend: the port runs no nft -f and its iptables rewrite lets pods resolve" {
  sandbox driver iptables
  expect "run 1: exit status" "0"
  expect_nft_applies 1 0
  [[ "$(section "nft list table ip docker-dns")" == "Error: No such file or directory"* ]] ||
    fail "a docker-dns table appeared"
  expect_pod_dns_through_rules
}

@test "iptables backend: the port's iptables rules equal kind's original's" {
  skip_without_original
  sandbox original iptables
  expect_pod_dns_through_rules
  local original
  original="$(section "iptables-save -t nat")"
  sandbox driver iptables
  expect "iptables-save -t nat" "$original"
}

@test "nftables backend: the bundle's network_magic step rewrites the table and pods resolve" {
  # No skip when the bundle lacks the feature: losing it must fail here.
  [[ -f "${REPO_DIR}/dist/entrypoint.js" ]] || fail "dist/entrypoint.js is missing: npm run build"
  sandbox bundle nftables 2
  expect "run 1: exit status" "0"
  expect "run 2: exit status" "0"
  expect_nft_applies 1 1
  expect_nft_applies 2 0
  expect "nft list table ip docker-dns" "$REWRITTEN_TABLE"
  expect_pod_dns_through_rules
}

@test "iptables backend: the bundle's network_magic step does not run nft at all" {
  # No skip when the bundle lacks the feature: losing it must fail here.
  [[ -f "${REPO_DIR}/dist/entrypoint.js" ]] || fail "dist/entrypoint.js is missing: npm run build"
  sandbox bundle iptables
  expect "run 1: exit status" "0"
  expect "run 1: nft calls" "(empty)"
  expect_pod_dns_through_rules
}
