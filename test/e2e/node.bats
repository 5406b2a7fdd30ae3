#!/usr/bin/env bats
# The port in the container test bed: our node image (images/Dockerfile on the offline base)
# must boot like kind's, and pod DNS must work through the docker host. When
# KIND_ORIGINAL_ENTRYPOINT is set, an original node runs alongside for side-by-side checks.
#
# Nodes: A (fake DMI) and B run the port; ORIG runs kind's original script.

source "$BATS_TEST_DIRNAME/lib.sh"

NODE_A=kets-node-a
NODE_B=kets-node-b
NODE_ORIG=kets-node-orig
NODE_C=kets-node-c
FILLER=kets-node-filler

setup_file() {
  e2e_ensure_dockerd
  e2e_rm "$NODE_A" "$NODE_B" "$NODE_ORIG" "$NODE_C" "$FILLER"
  local image
  image="$(e2e_node_image)"
  e2e_network
  e2e_egress_guard_on
  e2e_run_node "$NODE_A" "$image" -e E2E_FAKE_DMI=1 >/dev/null 2>&1
  e2e_run_node "$NODE_B" "$image" >/dev/null 2>&1
  if [[ -n ${KIND_ORIGINAL_ENTRYPOINT:-} ]]; then
    e2e_run_node "$NODE_ORIG" "$(e2e_original_image)" -e E2E_FAKE_DMI=1 >/dev/null 2>&1
    e2e_wait_booted "$NODE_ORIG"
  fi
  e2e_wait_booted "$NODE_A"
  e2e_wait_booted "$NODE_B"
  HOST_IP="$(e2e_network_gateway)"
  export HOST_IP
}

teardown_file() {
  e2e_rm "$NODE_A" "$NODE_B" "$NODE_ORIG" "$NODE_C" "$FILLER"
  e2e_egress_guard_off || true
}

need_original() {
  [[ -n ${KIND_ORIGINAL_ENTRYPOINT:-} ]] || skip 'KIND_ORIGINAL_ENTRYPOINT is not set'
}

# wait_boots NAME N: waits until the node's log shows N boots to Multi-User System.
wait_boots() {
  local name=$1 n=$2 i
  for ((i = 0; i < 300; i++)); do
    (($(grep -c 'Reached target .*Multi-User System' <<<"$(e2e_logs "$name")") >= n)) && return 0
    sleep 0.1
  done
  return 1
}

# Prints a node's entrypoint log (up to the exec) with its own IPv4 address replaced by <ip>,
# so two nodes' logs can be compared line by line.
entrypoint_log() {
  local logs
  logs="$(e2e_logs "$1")"
  sed -n '1,/^INFO: starting init$/p' <<<"$logs" | sed "s/$(e2e_node_ip "$1")/<ip>/g"
}

@test "the port execs systemd as PID 1, which reaches Multi-User System" {
  grep -qx 'INFO: starting init' <<<"$(e2e_logs "$NODE_A")"
  [ "$(docker exec "$NODE_A" cat /proc/1/comm)" = systemd ]
}

@test "the port logs the same lines as the original, in the same order" {
  need_original
  diff -u <(entrypoint_log "$NODE_ORIG") <(entrypoint_log "$NODE_A")
}

# Prints init's environment (PID 1's, as the entrypoint exec'd it), one NAME=value a line, sorted.
# HOSTNAME is each container's own name (docker run --hostname), so it reads <name>; no other
# value differs between two nodes started alike.
init_environment() {
  docker exec "$1" sh -c 'tr "\0" "\n" </proc/1/environ' |
    sed "s/^HOSTNAME=$1\$/HOSTNAME=<name>/" | LC_ALL=C sort
}

@test "init gets the same environment, names and values, from the port as from the original" {
  need_original
  local port
  port="$(init_environment "$NODE_A")"
  grep -qx 'HOSTNAME=<name>' <<<"$port"
  diff -u <(init_environment "$NODE_ORIG") - <<<"$port"
}

@test "pod DNS through the host IP resolves another node over UDP" {
  run e2e_pod_dns_check "$NODE_A" "$HOST_IP" "$NODE_B"
  [ "$status" -eq 0 ]
  [ "$output" = "$(e2e_node_ip "$NODE_B")" ]
}

@test "pod DNS through the host IP resolves another node over TCP" {
  run e2e_pod_dns_check "$NODE_A" "$HOST_IP" "$NODE_B" +tcp
  [ "$status" -eq 0 ]
  [ "$output" = "$(e2e_node_ip "$NODE_B")" ]
}

@test "the node's own resolv.conf points at the host IP" {
  docker exec "$NODE_B" grep -qx "nameserver $HOST_IP" /etc/resolv.conf
  docker exec "$NODE_B" grep -qx 'nameserver 127.0.0.11' /etc/resolv.conf.original
}

@test "DMI product files read 'kind' and the node's own UUID on both sysfs paths" {
  local uuid
  uuid="$(docker exec "$NODE_A" cat /kind/product_uuid)"
  [ "$(docker exec "$NODE_A" cat /sys/class/dmi/id/product_name)" = kind ]
  [ "$(docker exec "$NODE_A" cat /sys/class/dmi/id/product_uuid)" = "$uuid" ]
  [ "$(docker exec "$NODE_A" cat /sys/devices/virtual/dmi/id/product_uuid)" = "$uuid" ]
  [ "$uuid" != "$(docker exec "$NODE_ORIG" cat /kind/product_uuid 2>/dev/null)" ]
}

@test "after docker restart the entrypoint runs again and pod DNS works again" {
  docker restart "$NODE_B" >/dev/null
  wait_boots "$NODE_B" 2
  (($(grep -cx 'INFO: starting init' <<<"$(e2e_logs "$NODE_B")") == 2))
  run e2e_pod_dns_check "$NODE_B" "$HOST_IP" "$NODE_A"
  [ "$status" -eq 0 ]
  [ "$output" = "$(e2e_node_ip "$NODE_A")" ]
}

@test "a node whose IP changed while stopped rewrites the old IP in manifests, whole words only" {
  local old new manifest=/etc/kubernetes/manifests/kube-apiserver.yaml
  e2e_run_node "$NODE_C" "$E2E_NODE_IMAGE" >/dev/null 2>&1
  e2e_wait_booted "$NODE_C"
  old="$(e2e_node_ip "$NODE_C")"
  docker exec -i "$NODE_C" sh -c "cat >$manifest" <<EOF
advertise-address: $old
url: https://$old:6443
longer-address-kept: ${old}0
EOF
  docker stop "$NODE_C" >/dev/null
  # Docker hands out the lowest free address, so a new container takes the stopped node's.
  docker run -d --name "$FILLER" --label "$E2E_LABEL=node" --network "$E2E_NETWORK" \
    --entrypoint sleep "$E2E_NODE_IMAGE" infinity >/dev/null
  [ "$(e2e_node_ip "$FILLER")" = "$old" ] || skip "docker did not reuse $old"
  docker start "$NODE_C" >/dev/null
  wait_boots "$NODE_C" 2
  new="$(e2e_node_ip "$NODE_C")"
  [ "$new" != "$old" ]
  grep -qx "INFO: detected old IPv4 address: $old" <<<"$(e2e_logs "$NODE_C")"
  diff -u <(printf '%s\n' "advertise-address: $new" "url: https://$new:6443" \
    "longer-address-kept: ${old}0") <(docker exec "$NODE_C" cat "$manifest")
  [ "$(docker exec "$NODE_C" cat /kind/old-ipv4)" = "$new" ]
}

@test "docker stop shuts a port node down through systemd, not docker's SIGKILL" {
  e2e_stops_through_systemd "$NODE_B"
}

@test "no packet from the port's nodes tried to leave the machine" {
  [ "$(e2e_egress_guard_packets)" -eq 0 ]
}
