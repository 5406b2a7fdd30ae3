#!/usr/bin/env bats
# IPv6 clusters under podman: aardvark-dns answers on every gateway of a dual-stack network, the
# IPv6 one included, and the node's resolv.conf lists it, so the entrypoint adds no relay and an
# IPv6-only pod resolves through the node's nameservers as they are. Nodes run as kind's podman
# provider runs them for a cluster with IPv6 (its --sysctl flags, no --dns). Only container names
# are asked for, over UDP.

E2E_PODMAN_NETWORK=kets-podman-ipv6
source "$BATS_TEST_DIRNAME/lib.sh"
source "$BATS_TEST_DIRNAME/podman.sh"

NODE=kets-ip6p-node
PEER=kets-ip6p-peer

setup_file() {
  export E2E_FILE_START=$SECONDS
  e2e_ensure_dockerd
  export E2E_ENGINE=podman E2E_NETWORK=$E2E_PODMAN_NETWORK
  e2e_rm "$NODE" "$PEER"
  e2e_podman network rm "$E2E_PODMAN_NETWORK" >/dev/null 2>&1 || true
  # Created first: e2e_podman_ready waits for the teardown of this network's last run.
  e2e_quiet e2e_podman network create --label "$E2E_LABEL=network" --ipv6 \
    --subnet 10.89.53.0/24 --subnet fd00:54::/64 "$E2E_PODMAN_NETWORK"
  e2e_podman_ready
  local image name
  image="$(e2e_podman_image "$(e2e_node_image)")"
  e2e_egress_guard_on
  for name in "$NODE" "$PEER"; do
    E2E_PODMAN_KILL_AFTER=60 e2e_podman run -d --tty \
      --cap-add NET_ADMIN --cap-add SYS_ADMIN --cap-add NET_RAW \
      --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
      --security-opt unmask=ALL \
      --cgroupns=private --tmpfs /tmp --tmpfs /run -v /var \
      --ulimit nofile=20000:20000 --ulimit nproc=20000:20000 \
      --stop-signal SIGRTMIN+3 -e container=podman \
      --sysctl net.ipv6.conf.all.disable_ipv6=0 --sysctl net.ipv6.conf.all.forwarding=1 \
      --network "$E2E_PODMAN_NETWORK" \
      --add-host "host.docker.internal:127.0.0.1" \
      --hostname "$name" --name "$name" \
      --label "$E2E_LABEL=node" \
      -v "$E2E_DIR/shim.sh:/e2e/shim.sh:ro" --entrypoint /e2e/shim.sh \
      "$image" /sbin/init >/dev/null
  done
  e2e_wait_booted "$NODE"
  e2e_wait_booted "$PEER"
}

teardown_file() {
  E2E_ENGINE=podman e2e_rm "$NODE" "$PEER"
  e2e_podman network rm "$E2E_PODMAN_NETWORK" >/dev/null 2>&1 || true
  e2e_egress_guard_off
}

setup() {
  export E2E_ENGINE=podman E2E_NETWORK=$E2E_PODMAN_NETWORK
}

fail() {
  printf '%s\n' "$@" >&2
  return 1
}

@test "podman: the node's resolv.conf names aardvark-dns on the IPv6 gateway, and no relay is added" {
  run e2e_cli exec "$NODE" cat /etc/resolv.conf
  grep -qE '^nameserver fd00:54::1$' <<<"$output" || fail "$output"
  run e2e_cli exec "$NODE" ls /etc/kind-dns-relay.env
  [[ $status != 0 ]] || fail "$output"
  run e2e_logs "$NODE"
  [[ $output != *relay* ]] || fail "$output"
}

@test "podman: an IPv6-only pod resolves another node's name through the node's nameservers" {
  # The pod's IPv6 egress is masqueraded to the node's address, as a CNI's would be: aardvark-dns
  # answers the address the query came from, which the podman network routes to the node only.
  e2e_pod6 "$NODE"
  e2e_cli exec "$NODE" \
    ip6tables -t nat -A POSTROUTING -s fd00:10:244:7::/64 ! -d fd00:10:244:7::/64 -j MASQUERADE
  local want i
  want="$(e2e_podman inspect -f "{{(index .NetworkSettings.Networks \"$E2E_PODMAN_NETWORK\").GlobalIPv6Address}}" "$PEER")"
  [[ -n $want ]] || fail "the peer has no IPv6 address"
  # aardvark-dns reloads as nodes come and go; give it a few seconds.
  for ((i = 0; i < 20; i++)); do
    run e2e_cli exec "$NODE" ip netns exec pod6 timeout 10 getent ahosts "$PEER"
    [[ $output == *"$want"* ]] && break
    sleep 0.5
  done
  [[ $output == *"$want"* ]] || fail "$output"
  run e2e_cli exec "$NODE" ip netns exec pod6 dig +time=2 +tries=1 @fd00:54::1 "$PEER" AAAA
  [[ $output == *"$want"* ]] || fail "$output"
}
