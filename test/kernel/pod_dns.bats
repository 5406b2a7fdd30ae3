#!/usr/bin/env bats
# Pod DNS on the real kernel: a "node" netns with Docker-like DNS rules and a real DNS responder on
# 127.0.0.11 (test/kernel/dns_responder.py), a "pod" netns behind a veth (10.244.0.2/24 via
# 10.244.0.1). After the network magic, `dig @HOST_IP` from the pod must get the record over UDP
# and TCP. Controls: without the magic, and with route_localnet=0, it must fail. The original is
# checked too when KIND_ORIGINAL_ENTRYPOINT is set. Needs root, dig and python3.

setup_file() {
  if [[ "$(id -u)" != 0 ]]; then
    skip "needs root: network namespaces, mounts and iptables"
  fi
  if ! unshare --net --mount --uts true 2>/dev/null; then
    skip "cannot create network/mount/UTS namespaces here (needs CAP_SYS_ADMIN and CAP_NET_ADMIN)"
  fi
}

setup() {
  load lib.sh
  command -v dig >/dev/null || fail "dig is missing (apt-get install bind9-dnsutils)"
  command -v python3 >/dev/null || fail "python3 is missing"
}

fail() {
  printf '%s\n' "$@" >&2
  return 1
}

# pod_dns IMPL SCENARIO BACKEND: runs the scenario; $blob holds the state, $answers the pod's UDP
# and TCP answers (one line each) followed by the node's own lookup.
pod_dns() {
  blob="$(run_sandbox "$@")"
  answers="$(awk '/^## (pod|node): /{on=1; next} /^## /{on=0} on && NF' <<<"$blob")"
  printf '%s\n' "$blob" >"${BATS_TEST_TMPDIR}/$1.$2.$3.txt"
}

# expect_resolves: the pod got 192.0.2.53 over UDP and over TCP, the node got it too.
expect_resolves() {
  local expected
  expected="$(printf '192.0.2.53\n192.0.2.53\n192.0.2.53      STREAM pod-dns.example')"
  [[ "$answers" == "$expected" ]] || fail "expected the record over UDP, TCP and on the node, got:" "$answers"
}

# expect_pod_fails: neither the UDP nor the TCP query from the pod got an answer.
expect_pod_fails() {
  [[ "$(grep -c '^(dig exit status 9)$' <<<"$answers")" == 2 ]] ||
    fail "expected both pod queries to fail, got:" "$answers"
}

@test "pod DNS via host.docker.internal = node IP works after the port's magic (nft)" {
  pod_dns port pod-dns-node-ip nft
  expect_resolves
}

@test "pod DNS via host.docker.internal = node IP works after the port's magic (legacy)" {
  pod_dns port pod-dns-node-ip legacy
  expect_resolves
}

@test "pod DNS via the default gateway works after the port's magic (nft)" {
  pod_dns port pod-dns-gateway nft
  expect_resolves
}

@test "pod DNS via the default gateway works after the port's magic (legacy)" {
  pod_dns port pod-dns-gateway legacy
  expect_resolves
}

@test "control: pod DNS fails without the magic" {
  pod_dns none pod-dns-node-ip nft
  expect_pod_fails
  pod_dns none pod-dns-gateway nft
  expect_pod_fails
}

@test "control: pod DNS fails after the port's magic when route_localnet is 0" {
  pod_dns port pod-dns-no-route-localnet nft
  expect_pod_fails
}

@test "pod DNS works after the original's magic too (node IP and gateway)" {
  [[ -n "${KIND_ORIGINAL_ENTRYPOINT:-}" ]] || skip "KIND_ORIGINAL_ENTRYPOINT unset"
  pod_dns original pod-dns-node-ip nft
  expect_resolves
  pod_dns original pod-dns-gateway legacy
  expect_resolves
  pod_dns original pod-dns-no-route-localnet nft
  expect_pod_fails
}

@test "Docker's nftables backend: pod and node DNS work after the port's magic" {
  pod_dns port pod-dns-docker-nftables nft
  expect_resolves
}

@test "Docker's nftables backend: the original breaks pod DNS and the node's own DNS" {
  [[ -n "${KIND_ORIGINAL_ENTRYPOINT:-}" ]] || skip "KIND_ORIGINAL_ENTRYPOINT unset"
  pod_dns original pod-dns-docker-nftables nft
  expect_pod_fails
  [[ "$(tail -n 1 <<<"$answers")" == "(getent exit status 2)" ]] || fail "node lookup: ${answers}"
  pod_dns none pod-dns-docker-nftables nft
  [[ "$(tail -n 1 <<<"$answers")" == "192.0.2.53      STREAM pod-dns.example" ]] ||
    fail "control: without the magic the node resolves, got: ${answers}"
}
