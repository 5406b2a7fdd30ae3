#!/usr/bin/env bats
# DNS for IPv6-only pods (kind #4152, #3114) on a dual-stack Docker network. Nodes started with
# kind's IPv6 flags (`--sysctl net.ipv6.conf.all.disable_ipv6=0 --sysctl
# net.ipv6.conf.all.forwarding=1`) run the DNS relay on their own IPv6 address and list it in
# resolv.conf; a node without the flags on the same network runs nothing new. "Pods" are network
# namespaces inside a node: IPv6-only (veth, an IPv6 address and a default route, nothing else)
# and dual-stack. Names asked for: other containers' names and a network alias shared by
# containers of this file, answered by Docker's embedded resolver, and a name a fake upstream in a
# node answers; nothing leaves the machine (the egress guard's counter must stay 0).
# With KIND_ORIGINAL_ENTRYPOINT, a node with kind's script shows the failure the relay removes.

# The nodes' own network, dual-stack (every other e2e file uses an IPv4 one).
E2E_NETWORK=kets-e2e-ipv6
source "$BATS_TEST_DIRNAME/lib.sh"

SUBNET4=172.31.53.0/24
SUBNET6=fd00:53::/64
NODE=kets-ip6-node
PEER=kets-ip6-peer
V4=kets-ip6-v4
ORIG=kets-ip6-orig
FILLER=kets-ip6-filler
ALIAS=kets-ip6-many
# Containers that share the alias: their AAAA answer (28 bytes a record) is over 512 bytes.
ALIAS_COUNT=30
IPV6_FLAGS=(--sysctl net.ipv6.conf.all.disable_ipv6=0 --sysctl net.ipv6.conf.all.forwarding=1)

setup_file() {
  export E2E_FILE_START=$SECONDS
  e2e_ensure_dockerd
  cleanup
  IMAGE="$(e2e_node_image)"
  export IMAGE
  e2e_quiet docker network create --label "$E2E_LABEL=network" --ipv6 \
    --subnet "$SUBNET4" --subnet "$SUBNET6" "$E2E_NETWORK"
  e2e_egress_guard_on
  e2e_run_node "$NODE" "$IMAGE" "${IPV6_FLAGS[@]}" -v "$E2E_REPO/test:/e2e-test:ro" >/dev/null
  e2e_run_node "$PEER" "$IMAGE" "${IPV6_FLAGS[@]}" >/dev/null
  e2e_run_node "$V4" "$IMAGE" >/dev/null
  if [[ -n ${KIND_ORIGINAL_ENTRYPOINT:-} ]]; then
    e2e_run_node "$ORIG" "$(e2e_original_image)" "${IPV6_FLAGS[@]}" >/dev/null
  fi
  local base i
  base="$(e2e_base_image)"
  for ((i = 0; i < ALIAS_COUNT; i++)); do
    docker run -d --label "$E2E_LABEL=alias" --network "$E2E_NETWORK" --network-alias "$ALIAS" \
      --init=false --entrypoint sleep "$base" infinity >/dev/null
  done
  e2e_wait_booted "$NODE"
  e2e_wait_booted "$PEER"
  e2e_wait_booted "$V4"
  [[ -z ${KIND_ORIGINAL_ENTRYPOINT:-} ]] || e2e_wait_booted "$ORIG"
  # kind's node image sets this through /etc/sysctl.d; the stand-in has no such file.
  docker exec "$NODE" sysctl -qw net.ipv4.conf.all.route_localnet=1
  HOST_IP="$(docker exec "$NODE" ip -4 route show default | awk '{ print $3 }')"
  export HOST_IP
}

cleanup() {
  local -a aliases
  mapfile -t aliases < <(docker ps -aq --filter "label=$E2E_LABEL=alias")
  e2e_rm "$NODE" "$PEER" "$V4" "$ORIG" "$FILLER" "${aliases[@]}"
  docker network rm "$E2E_NETWORK" >/dev/null 2>&1 || true
}

teardown_file() {
  cleanup
  e2e_egress_guard_off
}

fail() {
  printf '%s\n' "$@" >&2
  return 1
}

# ipv6_of NAME: the container's IPv6 address on the network.
ipv6_of() {
  docker inspect -f "{{(index .NetworkSettings.Networks \"$E2E_NETWORK\").GlobalIPv6Address}}" "$1"
}

# ipv4_of NAME: the container's IPv4 address on the network.
ipv4_of() {
  docker inspect -f "{{(index .NetworkSettings.Networks \"$E2E_NETWORK\").IPAddress}}" "$1"
}

# pod6 NODE: the IPv6-only pod of e2e_pod6 (lib.sh).
pod6() { e2e_pod6 "$1"; }

# pod46 NODE: a dual-stack pod in NODE: lib.sh's IPv4 pod (netns pod) with IPv6 added.
pod46() {
  e2e_pod_netns "$1" || return 1
  docker exec -i "$1" bash -s <<'EOF'
set -euo pipefail
ip -6 addr show dev veth-pod | grep -q fd00:10:244:8::1 && exit 0
ip -6 addr add fd00:10:244:8::1/64 dev veth-pod nodad
ip -n pod -6 addr add fd00:10:244:8::2/64 dev eth0 nodad
ip -n pod -6 route add default via fd00:10:244:8::1
EOF
}

# lookup NODE NETNS NAME [tcp]: `getent ahosts NAME` in NETNS of NODE (`-` for the node itself)
# through the node's resolv.conf, over UDP or TCP (glibc's use-vc); prints the addresses.
lookup() {
  local node=$1 netns=$2 name=$3 proto=${4:-udp}
  local -a cmd=(env)
  [[ $proto == tcp ]] && cmd+=(RES_OPTIONS=use-vc)
  cmd+=(getent ahosts "$name")
  [[ $netns == - ]] || cmd=(ip netns exec "$netns" "${cmd[@]}")
  docker exec "$node" timeout 20 "${cmd[@]}" | awk '{ print $1 }' | sort -u
}

# relay_pid NODE: the relay's main PID as systemd knows it (0 when it is not running).
relay_pid() {
  docker exec "$1" systemctl show -p MainPID --value kind-dns-relay.service
}

@test "a node with kind's IPv6 flags runs the relay on its own IPv6 address, listed after the host's" {
  local addr
  addr="$(ipv6_of "$NODE")"
  [[ -n $addr ]] || fail "no IPv6 address"
  e2e_logs "$NODE" | grep -qx "INFO: enabling the DNS relay for IPv6 pods on \[$addr\]:53, forwarding to $HOST_IP" ||
    fail "$(e2e_logs "$NODE" | grep INFO)"
  run docker exec "$NODE" cat /etc/resolv.conf
  [[ $output == "nameserver $HOST_IP"$'\n'"nameserver $addr"$'\n'"options ndots:0" ]] || fail "$output"
  run docker exec "$NODE" systemctl is-active kind-dns-relay.service
  [[ $output == active ]] || fail "$output"
  # Its own address only, UDP and TCP: no wildcard socket on port 53.
  run docker exec "$NODE" ss -Hlnup sport = :53
  [[ $output == *"[$addr]:53 "*'"deno"'* && $output != *"[::]:53"* && $output != *"*:53"* ]] || fail "$output"
  run docker exec "$NODE" ss -Hlntp sport = :53
  [[ $output == *"[$addr]:53 "*'"deno"'* && $output != *"[::]:53"* && $output != *"*:53"* ]] || fail "$output"
  run docker exec "$NODE" journalctl -u kind-dns-relay.service -o cat --no-pager
  [[ $output == *"INFO: relaying DNS on [$addr]:53 (UDP and TCP) to $HOST_IP:53"* ]] || fail "$output"
}

@test "an IPv6-only pod resolves another node's name through the node's nameservers, over UDP and TCP" {
  pod6 "$NODE"
  local want4 want6 proto
  want4="$(ipv4_of "$PEER")" want6="$(ipv6_of "$PEER")"
  for proto in udp tcp; do
    run lookup "$NODE" pod6 "$PEER" "$proto"
    [[ $status == 0 && $output == *"$want6"* ]] || fail "$proto: status $status" "$output"
  done
  # dig asks the nameservers in order: the host's fails at once, the relay answers.
  run docker exec "$NODE" ip netns exec pod6 dig +time=2 +tries=1 "$PEER" A
  [[ $output == *"network unreachable"* && $output == *"SERVER: $(ipv6_of "$NODE")#53"* &&
    $output == *"$want4"* ]] || fail "$output"
  run docker exec "$NODE" ip netns exec pod6 dig +tcp +short +time=2 +tries=1 "@$(ipv6_of "$NODE")" "$PEER" A
  [[ $output == "$want4" ]] || fail "$output"
}

@test "a dual-stack pod and the node itself resolve it too, over UDP and TCP" {
  pod46 "$NODE"
  local want4 proto where
  want4="$(ipv4_of "$PEER")"
  for where in pod -; do
    for proto in udp tcp; do
      run lookup "$NODE" "$where" "$PEER" "$proto"
      [[ $status == 0 && $output == *"$want4"* ]] || fail "$where $proto: status $status" "$output"
    done
  done
  # The node asks the host's address first: its queries do not depend on the relay.
  run docker exec "$NODE" dig +time=2 +tries=1 "$PEER" A
  [[ $output == *"SERVER: $HOST_IP#53"* ]] || fail "$output"
}

@test "a large answer: over UDP the pod gets what Docker gives the node (TC and all), over TCP all of it" {
  pod6 "$NODE"
  local addr relayed direct
  addr="$(ipv6_of "$NODE")"
  # The header line of dig's answer: flags and counts (the ID aside).
  relayed="$(docker exec "$NODE" ip netns exec pod6 dig +noedns +ignore +notcp +time=2 +tries=1 "@$addr" "$ALIAS" AAAA)"
  direct="$(docker exec "$NODE" dig +noedns +ignore +notcp +time=2 +tries=1 "@$HOST_IP" "$ALIAS" AAAA)"
  [[ $(grep '^;; flags:' <<<"$relayed") == "$(grep '^;; flags:' <<<"$direct")" ]] ||
    fail "relayed:" "$relayed" "direct:" "$direct"
  grep -q '^;; flags: qr tc rd ra;' <<<"$relayed" && echo "# Docker truncated the UDP answer: TC passed through" >&3
  run docker exec "$NODE" ip netns exec pod6 dig +noedns +tcp +time=2 +tries=1 "@$addr" "$ALIAS" AAAA
  [[ $output == *"flags: qr rd ra; QUERY: 1, ANSWER: $ALIAS_COUNT,"* ]] || fail "$output"
  grep -qE 'MSG SIZE +rcvd: ([6-9][0-9]{2}|[0-9]{4})$' <<<"$output" || fail "$output"
}

@test "a truncated answer reaches an IPv6-only pod with TC set, and TCP brings it whole (fake upstream in the node)" {
  pod6 "$NODE"
  local addr port
  addr="$(ipv6_of "$NODE")"
  # The fake upstream (test/support/fake_upstream.ts) on the node's 127.0.0.1, and a second relay from the
  # image's bundle on port 5353 in front of it; both stopped by killing their process groups.
  port="$(docker exec "$NODE" bash -c '
    export DENO_DIR=/tmp/e2e-deno DENO_NO_UPDATE_CHECK=1
    setsid /usr/local/bin/deno run --unstable-net --allow-net --no-config /e2e-test/support/fake_upstream.ts \
      >/tmp/fake-upstream.port 2>/tmp/fake-upstream.err </dev/null & echo $! >/tmp/fake-upstream.pid
    for i in $(seq 100); do [[ -s /tmp/fake-upstream.port ]] && break; sleep 0.1; done
    cat /tmp/fake-upstream.port')"
  [[ $port =~ ^[0-9]+$ ]] || fail "fake upstream: $port" "$(docker exec "$NODE" cat /tmp/fake-upstream.err)"
  docker exec -e "KIND_DNS_RELAY_LISTEN=$addr" -e KIND_DNS_RELAY_PORT=5353 \
    -e KIND_DNS_RELAY_UPSTREAM=127.0.0.1 -e "KIND_DNS_RELAY_UPSTREAM_PORT=$port" "$NODE" bash -c '
    export DENO_DIR=/tmp/e2e-deno DENO_NO_UPDATE_CHECK=1
    setsid /usr/local/bin/deno run --unstable-net --allow-net --allow-env --allow-sys=networkInterfaces --no-config \
      /usr/local/lib/kind-entrypoint-ts/relay.js >/dev/null 2>/tmp/relay-5353.log </dev/null &
    echo $! >/tmp/relay-5353.pid
    for i in $(seq 100); do grep -q relaying /tmp/relay-5353.log && break; sleep 0.1; done'
  run docker exec "$NODE" ip netns exec pod6 dig +noedns +ignore +notcp +time=2 +tries=1 -p 5353 "@$addr" big.test A
  local udp=$output
  run docker exec "$NODE" ip netns exec pod6 dig +noedns +tcp +time=2 +tries=1 -p 5353 "@$addr" big.test A
  local tcp=$output
  docker exec "$NODE" sh -c 'kill -- -$(cat /tmp/relay-5353.pid) -$(cat /tmp/fake-upstream.pid)' || true
  [[ $udp == *"flags: qr aa tc rd ra;"*"ANSWER: 0,"* ]] || fail "UDP:" "$udp"
  [[ $tcp == *"flags: qr aa rd ra;"*"ANSWER: 100,"* ]] || fail "TCP:" "$tcp"
}

@test "KIND_ENTRYPOINT_DIAGNOSE reports the relay on a node with it, and nothing of it elsewhere" {
  run docker exec "$NODE" env KIND_ENTRYPOINT_DIAGNOSE=1 /usr/local/bin/entrypoint
  [[ $status == 0 ]] || fail "status $status" "$output"
  grep -qF "DNS relay (IPv6 pods): [$(ipv6_of "$NODE")]:53 -> $HOST_IP:53; in resolv.conf: yes; listening: UDP yes, TCP yes; from an IPv6-only pod: UDP answered in " <<<"$output" ||
    fail "status $status" "$output"
  grep -qE "; from an IPv6-only pod: UDP answered in [0-9.]+ ms, TCP answered in [0-9.]+ ms$" <<<"$output" ||
    fail "status $status" "$output"
  run docker exec "$V4" env KIND_ENTRYPOINT_DIAGNOSE=1 /usr/local/bin/entrypoint
  [[ $output == *"verdict: "* && $output != *"DNS relay"* ]] || fail "status $status" "$output"
}

@test "KIND_ENTRYPOINT_DIAGNOSE fails on a node whose relay is down, and passes once it is back" {
  local addr i
  addr="$(ipv6_of "$NODE")"
  docker exec "$NODE" systemctl stop kind-dns-relay
  run docker exec "$NODE" env KIND_ENTRYPOINT_DIAGNOSE=1 /usr/local/bin/entrypoint
  docker exec "$NODE" systemctl start kind-dns-relay
  [[ $status == 1 ]] || fail "status $status" "$output"
  grep -qF "FAIL: an IPv6-only pod gets no answer from the DNS relay [$addr]:53 (UDP connection refused, TCP connection refused)" <<<"$output" ||
    fail "$output"
  for ((i = 0; i < 100; i++)); do
    docker exec "$NODE" dig +short +time=1 +tries=1 "@$addr" "$PEER" A | grep -qx "$(ipv4_of "$PEER")" && break
    sleep 0.1
  done
  ((i < 100)) || fail "the relay does not answer again within 10 s"
  run docker exec "$NODE" env KIND_ENTRYPOINT_DIAGNOSE=1 /usr/local/bin/entrypoint
  [[ $status == 0 ]] || fail "status $status" "$output"
}

@test "the entrypoint run again in the booted node changes nothing of the relay" {
  local files='cat /etc/resolv.conf /etc/resolv.conf.original /etc/kind-dns-relay.env; readlink /etc/systemd/system/multi-user.target.wants/kind-dns-relay.service'
  local before pid
  before="$(docker exec "$NODE" sh -c "$files")"
  pid="$(relay_pid "$NODE")"
  run docker exec "$NODE" /usr/local/bin/entrypoint true
  [[ $status == 0 ]] || fail "status $status" "$output"
  [[ $(docker exec "$NODE" sh -c "$files") == "$before" ]] ||
    fail "before:" "$before" "after:" "$(docker exec "$NODE" sh -c "$files")"
  [[ $(relay_pid "$NODE") == "$pid" ]] || fail "the relay was restarted"
}

@test "the relay killed with SIGKILL is back within seconds (systemd restarts it)" {
  local before after i addr
  addr="$(ipv6_of "$NODE")"
  before="$(relay_pid "$NODE")"
  [[ $before -gt 0 ]] || fail "not running: $before"
  docker exec "$NODE" kill -KILL "$before"
  for ((i = 0; i < 100; i++)); do
    after="$(relay_pid "$NODE")"
    if [[ $after -gt 0 && $after != "$before" ]] &&
      docker exec "$NODE" dig +short +time=1 +tries=1 "@$addr" "$PEER" A | grep -qx "$(ipv4_of "$PEER")"; then
      break
    fi
    sleep 0.1
  done
  ((i < 100)) || fail "not back within 10 s: MainPID $after"
}

@test "a node restarted with a new IPv6 address moves the relay to it" {
  local old new
  old="$(ipv6_of "$NODE")"
  docker stop -t 5 "$NODE" >/dev/null
  # Another container takes the node's addresses while it is stopped.
  docker run -d --label "$E2E_LABEL=filler" --network "$E2E_NETWORK" --name "$FILLER" --init=false \
    --entrypoint sleep "$(e2e_base_image)" infinity >/dev/null
  [[ $(ipv6_of "$FILLER") == "$old" ]] || fail "the filler got $(ipv6_of "$FILLER"), not $old"
  docker start "$NODE" >/dev/null
  new="$(ipv6_of "$NODE")"
  [[ -n $new && $new != "$old" ]] || fail "old $old, new $new"
  e2e_wait_log "$NODE" "INFO: enabling the DNS relay for IPv6 pods on \[$new\]:53, forwarding to $HOST_IP"
  local i
  for ((i = 0; i < 300; i++)); do
    [[ $(docker exec "$NODE" systemctl is-active kind-dns-relay.service 2>/dev/null) == active ]] && break
    sleep 0.1
  done
  run docker exec "$NODE" cat /etc/resolv.conf /etc/kind-dns-relay.env
  grep -qx "nameserver $new" <<<"$output" && grep -qx "KIND_DNS_RELAY_LISTEN=$new" <<<"$output" &&
    ! grep -qwF "$old" <<<"$output" || fail "$output"
  pod6 "$NODE"
  run lookup "$NODE" pod6 "$PEER"
  [[ $status == 0 && $output == *"$(ipv6_of "$PEER")"* ]] || fail "status $status" "$output"
  e2e_rm "$FILLER"
}

@test "a node without kind's IPv6 flags on the same dual-stack network runs no relay and says nothing of it" {
  run docker exec "$V4" cat /etc/resolv.conf
  [[ $output == "nameserver $HOST_IP"$'\n'"options ndots:0" ]] || fail "$output"
  run docker exec "$V4" ls /etc/kind-dns-relay.env /etc/systemd/system/multi-user.target.wants/kind-dns-relay.service
  [[ $status != 0 && $output == *"No such file"*"No such file"* ]] || fail "$output"
  run docker exec "$V4" systemctl is-active kind-dns-relay.service
  [[ $output == inactive ]] || fail "$output"
  run docker exec "$V4" ss -Hlnup sport = :53
  [[ -z $output ]] || fail "$output"
  run e2e_logs "$V4"
  [[ $output != *relay* && $output != *Relay* ]] || fail "$output"
  # The entrypoint's last lines are those of any node: its addresses, then init.
  [[ $output == *"INFO: detected IPv6 address: $(ipv6_of "$V4")"$'\n'"INFO: starting init"* ]] || fail "$output"
}

@test "kind's script: an IPv6-only pod gets 'network unreachable' from the node's only nameserver" {
  [[ -n ${KIND_ORIGINAL_ENTRYPOINT:-} ]] || skip "KIND_ORIGINAL_ENTRYPOINT is not set: no kind's script to compare with"
  run docker exec "$ORIG" cat /etc/resolv.conf
  [[ $output == "nameserver $HOST_IP"$'\n'"options ndots:0" ]] || fail "$output"
  pod6 "$ORIG"
  run docker exec "$ORIG" ip netns exec pod6 dig +time=2 +tries=1 "$PEER" A
  [[ $output == *"network unreachable"* && $output == *"no servers could be reached"* ]] || fail "$output"
  run lookup "$ORIG" pod6 "$PEER"
  [[ -z $output ]] || fail "$output"
  run lookup "$ORIG" pod6 "$PEER" tcp
  [[ -z $output ]] || fail "$output"
}
