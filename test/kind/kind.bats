#!/usr/bin/env bats
# kind's own CLI as the client: `kind create cluster --image IMAGE --retain` makes the nodes from
# the test bed's stand-in (which has no kubeadm), with kind's flags, network, waits and `docker
# exec` calls; `kind export logs` and `kind delete cluster` close. Every case runs for the port's
# image and, with KIND_ORIGINAL_ENTRYPOINT, for the same stand-in with kind's script, whose node
# state must then be the port's. All clusters are created at once in setup_file (kind makes the
# nodes of one cluster at once too); the tests then read them.
#
# Clusters (names unique to this tier): kets-kind-{port,orig} one node each, docker restart and
# export/delete; -multi-* one control-plane and two workers; -v6-* networking.ipFamily ipv6 and
# -dual-port dual; -v2-* nodes given a cgroup v2 view by the wrapper; -pm-* under kind's podman
# provider. The -orig clusters exist only with KIND_ORIGINAL_ENTRYPOINT.

source "$BATS_TEST_DIRNAME/../e2e/lib.sh"
source "$BATS_TEST_DIRNAME/../e2e/podman.sh"
source "$BATS_TEST_DIRNAME/lib.sh"

CLUSTERS=(kets-kind-port kets-kind-multi-port kets-kind-v6-port kets-kind-dual-port kets-kind-v2-port)
ORIG_CLUSTERS=(kets-kind-orig kets-kind-multi-orig kets-kind-v6-orig kets-kind-v2-orig)
PODMAN_CLUSTERS=(kets-kind-pm-port kets-kind-pm-orig)
# kind's message when the stand-in has no kubeadm: the one stop this tier expects.
KUBEADM_MISSING='exec: "kubeadm": executable file not found in $PATH'

setup_file() {
  export KIND_TIER_START=$SECONDS
  local missing
  missing="$(kind_tier_missing)"
  if [[ -n $missing ]]; then
    if [[ ${CI:-} == true ]]; then
      echo "CI=true and $missing" >&2
      return 1
    fi
    skip "$missing"
  fi
  e2e_ensure_dockerd
  KIND_TIER_BIN="$(kind_tier_find_kind)"
  export KIND_TIER_BIN OUT="$BATS_FILE_TMPDIR"
  kind_tier_setup_path "$OUT"
  delete_all
  # kind's network outlives its clusters; the tier removes it at the end only if it made it.
  export KIND_NET_WAS_THERE=0 PODMAN_KIND_NET_WAS_THERE=0
  docker network inspect kind >/dev/null 2>&1 && KIND_NET_WAS_THERE=1
  e2e_podman network exists kind 2>/dev/null && PODMAN_KIND_NET_WAS_THERE=1
  PORT_IMAGE="$(kind_tier_image "$(e2e_node_image)")"
  export PORT_IMAGE ORIG_IMAGE=''
  if [[ -n ${KIND_ORIGINAL_ENTRYPOINT:-} ]]; then
    ORIG_IMAGE="$(kind_tier_image "$(e2e_original_image)")"
  fi
  e2e_podman_ready
  kind_tier_guard_on
  printf 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n- role: worker\n- role: worker\n' >"$OUT/multi.yaml"
  printf 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnetworking:\n  ipFamily: %s\n' ipv6 >"$OUT/ipv6.yaml"
  printf 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnetworking:\n  ipFamily: %s\n' dual >"$OUT/dual.yaml"

  # The first cluster alone: it creates kind's network, which clusters started at once could
  # each try to create.
  kind_tier_create kets-kind-port "$PORT_IMAGE" "$OUT"
  create_podman &
  create_impl port "$PORT_IMAGE" &
  [[ -z $ORIG_IMAGE ]] || create_impl orig "$ORIG_IMAGE" &
  wait
}

# The podman provider's clusters, one after another (the first creates podman's kind network).
create_podman() {
  local impl image
  for impl in port ${ORIG_IMAGE:+orig}; do
    image=$PORT_IMAGE
    [[ $impl == port ]] || image=$ORIG_IMAGE
    image="$(kind_tier_podman_image "$image")" || return 1
    KIND_EXPERIMENTAL_PROVIDER=podman kind_tier_create "kets-kind-pm-$impl" "$image" "$OUT"
  done
}

# create_impl IMPL IMAGE: the IMPL's Docker clusters, all at once.
create_impl() {
  local impl=$1 image=$2
  [[ $impl == port ]] || kind_tier_create kets-kind-orig "$image" "$OUT" &
  kind_tier_create "kets-kind-multi-$impl" "$image" "$OUT" "$OUT/multi.yaml" &
  kind_tier_create "kets-kind-v6-$impl" "$image" "$OUT" "$OUT/ipv6.yaml" &
  [[ $impl == orig ]] || kind_tier_create kets-kind-dual-port "$image" "$OUT" "$OUT/dual.yaml" &
  KIND_TIER_CGROUP2=1 kind_tier_create "kets-kind-v2-$impl" "$image" "$OUT" &
  wait
}

delete_all() {
  kind_tier_delete "${CLUSTERS[@]}" "${ORIG_CLUSTERS[@]}"
  KIND_EXPERIMENTAL_PROVIDER=podman kind_tier_delete "${PODMAN_CLUSTERS[@]}"
}

teardown_file() {
  [[ -n ${KIND_TIER_BIN:-} ]] || return 0
  delete_all
  ((KIND_NET_WAS_THERE)) || docker network rm kind >/dev/null 2>&1 || true
  ((PODMAN_KIND_NET_WAS_THERE)) || e2e_podman network rm kind >/dev/null 2>&1 || true
  kind_outputs >&3
  if [[ -n ${KIND_TIER_WRAPPER_LOG:-} ]]; then
    echo "# engine wrapper: $(grep -c '^docker run' "$KIND_TIER_WRAPPER_LOG") docker and $(grep -c '^podman run' "$KIND_TIER_WRAPPER_LOG") podman runs rewritten" >&3
  fi
  echo "# kind tier: $((SECONDS - KIND_TIER_START)) s" >&3
  kind_tier_guard_off
}

fail() {
  printf '%s\n' "$@" >&2
  return 1
}

# One line per cluster of what kind itself said: its stages (✓ or ✗), its exit status, and the
# reason of its error.
kind_outputs() {
  local file name
  for file in "$OUT"/*.out; do
    [[ -f $file ]] || continue
    name=${file##*/}
    name=${name%.out}
    printf '# %s: %s; exit %s%s\n' "$name" \
      "$(grep -E '^ [✓✗] ' "$file" | sed -E 's/^ ([✓✗]) ([A-Za-z -]+[a-z]).*/\1 \2/' | paste -sd, - | sed 's/,/, /g')" \
      "$(<"$OUT/$name.status")" \
      "$(grep -oE 'exec: "[a-z]+": executable file not found in \$PATH' "$file" | head -n1 | sed 's/^/: /')"
  done
}

need_original() {
  [[ -n $ORIG_IMAGE ]] || skip "KIND_ORIGINAL_ENTRYPOINT is not set: no kind's script to compare with"
}

# engine_of CLUSTER: podman for the podman provider's clusters, else docker.
engine_of() {
  if [[ $1 == kets-kind-pm-* ]]; then echo podman; else echo docker; fi
}

# booted NODE [BOOTS=1]: waits until NODE's systemd reached Multi-User System BOOTS times: then
# the entrypoint is done and everything it started is up.
booted() {
  local node=$1 boots=${2:-1} i
  for ((i = 0; i < 300; i++)); do
    (($(E2E_ENGINE=$(engine_of "$node") e2e_logs "$node" | grep -c 'Reached target .*Multi-User System') >= boots)) &&
      return 0
    sleep 0.1
  done
  fail "$node: systemd did not reach Multi-User System $boots time(s) within 30 s"
}

# stops_at_kubeadm CLUSTER: kind's output shows ✓ for the stages before kubeadm and stops at
# "Starting control-plane" because the stand-in has no kubeadm; any other stop fails.
stops_at_kubeadm() {
  local out status stage
  out="$(<"$OUT/$1.out")" status="$(<"$OUT/$1.status")"
  for stage in 'Ensuring node image' 'Preparing nodes' 'Writing configuration'; do
    grep -q "^ ✓ $stage" <<<"$out" || fail "$1: no ✓ $stage (kind exit $status)" "$out"
  done
  [[ $status == 1 && $(grep -c '^ ✗ ' <<<"$out") == 1 && $out == *" ✗ Starting control-plane"* &&
    $out == *"failed to init node with kubeadm"* && $out == *"$KUBEADM_MISSING"* ]] ||
    fail "$1: kind stopped elsewhere than at kubeadm (exit $status)" "$out"
}

# state CLUSTER NODE: the node's normalized state (test/e2e/state.sh on kind's network), with the
# cluster's name as <cluster>.
state() {
  E2E_ENGINE=$(engine_of "$1") E2E_NETWORK=kind bash "$E2E_DIR/state.sh" "$2" | sed "s/$1/<cluster>/g"
}

# same_state PORT_CLUSTER ORIG_CLUSTER [NODE_SUFFIX=control-plane [FILTER=cat [PORT_FILTER=cat]]]:
# the two clusters' nodes have the same state, both read through FILTER, the port's also through
# PORT_FILTER.
same_state() {
  local suffix=${3:-control-plane} filter=${4:-cat} port_filter=${5:-cat}
  diff -u --label "$2 (kind's script)" --label "$1 (port)" \
    <(state "$2" "$2-$suffix" | "$filter") <(state "$1" "$1-$suffix" | "$filter" | "$port_filter")
}

# A state's log section without systemd's lines: after a restart the log holds a whole boot of
# systemd, whose units start in no fixed order.
entrypoint_lines() {
  awk '/^### / { section = $0 } section != "### log" || /^(### |INFO: |WARN: |ERROR: )/'
}

@test "kind create cluster (port): ✓ image, nodes, configuration; stops at Starting control-plane for want of kubeadm" {
  stops_at_kubeadm kets-kind-port
  booted kets-kind-port-control-plane
  # kind's exec wrote its configuration for kubeadm.
  run docker exec kets-kind-port-control-plane grep -c '^kind: ' /kind/kubeadm.conf
  [[ $output == 5 ]] || fail "$output"
}

@test "kind create cluster (kind's script): the same stop, and the same node state as the port's" {
  need_original
  stops_at_kubeadm kets-kind-orig
  booted kets-kind-orig-control-plane
  booted kets-kind-port-control-plane
  same_state kets-kind-port kets-kind-orig
}

# all_resolve CLUSTER: every node boots and resolves every other node's name, itself and from a
# pod network namespace through the docker host (the network magic's path).
all_resolve() {
  local -a nodes
  local a b want host_ip
  mapfile -t nodes < <(printf '%s\n' "$1-control-plane" "$1-worker" "$1-worker2")
  for a in "${nodes[@]}"; do booted "$a"; done
  for a in "${nodes[@]}"; do
    host_ip="$(docker exec "$a" ip -4 route show default | awk '{ print $3 }')"
    for b in "${nodes[@]}"; do
      [[ $a != "$b" ]] || continue
      want="$(docker inspect -f '{{(index .NetworkSettings.Networks "kind").IPAddress}}' "$b")"
      run docker exec "$a" getent ahostsv4 "$b"
      [[ $output == "$want "* ]] || fail "$a does not resolve $b to $want" "$output"
      run e2e_pod_dns_check "$a" "$host_ip" "$b"
      [[ $output == "$want" ]] || fail "a pod of $a does not resolve $b to $want via $host_ip" "$output"
    done
  done
}

@test "one control-plane and two workers (port): all three, created by kind at once, boot and resolve each other" {
  stops_at_kubeadm kets-kind-multi-port
  all_resolve kets-kind-multi-port
}

@test "one control-plane and two workers (kind's script): the same, each worker's state the port's" {
  need_original
  stops_at_kubeadm kets-kind-multi-orig
  all_resolve kets-kind-multi-orig
  same_state kets-kind-multi-port kets-kind-multi-orig worker2
}

# ipv6_of NODE: the node's IPv6 address on kind's network.
ipv6_of() {
  docker inspect -f '{{(index .NetworkSettings.Networks "kind").GlobalIPv6Address}}' "$1"
}

# pod6_lookup NODE NAME udp|tcp: `getent ahosts NAME` from an IPv6-only pod of NODE through the
# node's resolv.conf.
pod6_lookup() {
  local -a cmd=(env)
  [[ $3 == tcp ]] && cmd+=(RES_OPTIONS=use-vc)
  docker exec "$1" timeout 20 ip netns exec pod6 "${cmd[@]}" getent ahosts "$2" | awk '{ print $1 }' | sort -u
}

# relays CLUSTER: kind's IPv6 flags turned the relay on, and an IPv6-only pod of the node resolves
# another node (the port's single node, on the same network) over UDP and TCP through it.
relays() {
  local node=$1-control-plane peer=kets-kind-port-control-plane addr want proto
  stops_at_kubeadm "$1"
  booted "$node"
  addr="$(ipv6_of "$node")" want="$(ipv6_of "$peer")"
  e2e_logs "$node" | grep -q "^INFO: enabling the DNS relay for IPv6 pods on \[$addr\]:53" ||
    fail "no relay line" "$(e2e_logs "$node" | grep '^INFO')"
  run docker exec "$node" systemctl is-active kind-dns-relay.service
  [[ $output == active ]] || fail "relay: $output"
  E2E_ENGINE=docker e2e_pod6 "$node"
  for proto in udp tcp; do
    run pod6_lookup "$node" "$peer" "$proto"
    [[ $output == *"$want"* ]] || fail "$proto: $peer not resolved to $want" "$output"
  done
}

@test "networking.ipFamily ipv6 (port): kind's network and flags turn the relay on; an IPv6-only pod resolves another node, UDP and TCP" {
  relays kets-kind-v6-port
}

@test "networking.ipFamily dual (port): the relay is on and serves an IPv6-only pod the same way" {
  relays kets-kind-dual-port
}

@test "networking.ipFamily ipv6 (kind's script): the same query from an IPv6-only pod fails with 'network unreachable'" {
  need_original
  local node=kets-kind-v6-orig-control-plane
  stops_at_kubeadm kets-kind-v6-orig
  booted "$node"
  # The name exists: the port's IPv6 cluster resolves it (above).
  booted kets-kind-port-control-plane
  E2E_ENGINE=docker e2e_pod6 "$node"
  run docker exec "$node" ip netns exec pod6 dig +time=2 +tries=1 kets-kind-port-control-plane A
  [[ $output == *"network unreachable"* && $output == *"no servers could be reached"* ]] || fail "$output"
  run pod6_lookup "$node" kets-kind-port-control-plane udp
  [[ -z $output ]] || fail "$output"
}

@test "kind's podman provider (port): the same stop at kubeadm, node booted" {
  stops_at_kubeadm kets-kind-pm-port
  booted kets-kind-pm-port-control-plane
}

@test "kind's podman provider (kind's script): the same stop and the same node state as the port's" {
  need_original
  stops_at_kubeadm kets-kind-pm-orig
  booted kets-kind-pm-orig-control-plane
  booted kets-kind-pm-port-control-plane
  # Podman writes no iptables rules: on that tie the port picks nft where kind's script picks
  # legacy (docs/differences.md, row 31). The port's choice is checked here, the rest compared.
  run state kets-kind-pm-port kets-kind-pm-port-control-plane
  [[ $output == *$'INFO: setting iptables to detected mode: nft\n'* &&
    $output == *$'### iptables-alternative\n/usr/sbin/iptables-nft\n'* ]] || fail "$output"
  same_state kets-kind-pm-port kets-kind-pm-orig control-plane cat tie_as_legacy
}

# The port's state with its nft choice on a tie of no rules written as kind's script's legacy one.
tie_as_legacy() {
  sed -e 's/^INFO: setting iptables to detected mode: nft$/INFO: setting iptables to detected mode: legacy/' \
    -e 's|^/usr/sbin/iptables-nft$|/usr/sbin/iptables-legacy|'
}

# exec_pid1s NODE: what PID 1 was at each of kind's `docker exec` calls into NODE, in order.
exec_pid1s() {
  [[ -n ${KIND_TIER_WRAPPER_LOG:-} ]] || return 0
  sed -nE "s/^docker exec $1 \(PID 1: ([^)]*)\).*/\1/p" "$KIND_TIER_WRAPPER_LOG"
}

@test "cgroup v1: the line kind waits for comes before the entrypoint's last ones; kind's execs, whenever they come, do no harm" {
  local node impl log
  for impl in port ${ORIG_IMAGE:+orig}; do
    node=kets-kind-$impl-control-plane
    booted "$node"
    log="$(e2e_logs "$node")"
    # The line kind waits for comes before the entrypoint's last ones.
    [[ $log == *"INFO: detected cgroup v1"*"INFO: detected IPv4 address"*"INFO: starting init"* ]] ||
      fail "$impl: $log"
    echo "# $impl: PID 1 at kind's execs: $(exec_pid1s "$node" | tr '\n' ' ')" >&3
    run docker exec "$node" grep -c '^kind: ' /kind/kubeadm.conf
    [[ $output == 5 ]] || fail "$impl: kubeadm.conf: $output"
  done
}

@test "cgroup v2 view: kind waits for Multi-User System, so each of its execs meets init" {
  [[ -n ${KIND_TIER_WRAPPER_LOG:-} ]] || skip "the cgroup v2 view and the record of kind's execs come from the engine wrapper, unused where --privileged works"
  local impl node
  for impl in port ${ORIG_IMAGE:+orig}; do
    node=kets-kind-v2-$impl-control-plane
    stops_at_kubeadm "kets-kind-v2-$impl"
    booted "$node"
    e2e_logs "$node" | grep -qx 'INFO: detected cgroup v2' || fail "$impl: no 'detected cgroup v2'"
    run exec_pid1s "$node"
    [[ -n $output && -z $(grep -vx systemd <<<"$output") ]] || fail "$impl: PID 1 at kind's execs:" "$output"
  done
  [[ -z $ORIG_IMAGE ]] || same_state kets-kind-v2-port kets-kind-v2-orig
}

# restarted CLUSTER: docker restart of its node; the second boot finds the old address.
restarted() {
  local node=$1-control-plane
  booted "$node"
  docker restart "$node" >/dev/null
  booted "$node" 2
  e2e_logs "$node" | grep -q '^INFO: detected old IPv4 address: ' ||
    fail "$node: no old address detected" "$(e2e_logs "$node" | grep '^INFO')"
}

@test "docker restart of a kind node (port): the second boot detects the old address" {
  restarted kets-kind-port
}

@test "docker restart of a kind node (kind's script): the same, and the state after it the port's" {
  need_original
  restarted kets-kind-orig
  same_state kets-kind-port kets-kind-orig control-plane entrypoint_lines
}

# exported_then_deleted CLUSTER: kind export logs holds the entrypoint's log; kind delete cluster
# leaves no container or volume of the cluster; kind's network stays (kind keeps it).
exported_then_deleted() {
  local name=$1 node=$1-control-plane volumes
  booted "$node"
  volumes="$(docker inspect -f '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}' "$node")"
  [[ -n $volumes ]] || fail "$node has no volume"
  run kind_tier_kind export logs "$OUT/logs-$name" --name "$name"
  # What kind's export cannot collect from the stand-in: `crictl images` (no Kubernetes binaries).
  [[ $status == 1 && $output == *'"crictl": executable file not found'* &&
    $(grep -c '^ERROR: ' <<<"$output") == 1 ]] || fail "export: status $status" "$output"
  grep -qx 'INFO: starting init' <(tr -d '\r' <"$OUT/logs-$name/$node/serial.log") ||
    fail "$(ls -R "$OUT/logs-$name")"
  grep -q 'Reached target .*Multi-User System' "$OUT/logs-$name/$node/journal.log" ||
    fail "no journal" "$(ls -R "$OUT/logs-$name")"
  run kind_tier_kind delete cluster --name "$name"
  [[ $status == 0 ]] || fail "$output"
  [[ -z $(docker ps -aq --filter "label=io.x-k8s.kind.cluster=$name") ]] || fail "containers left"
  local v
  for v in $volumes; do
    ! docker volume inspect "$v" >/dev/null 2>&1 || fail "volume $v left"
  done
  docker network inspect kind >/dev/null 2>&1 || fail "kind's network went with the cluster"
}

@test "kind export logs (port) holds the entrypoint's log; kind delete cluster leaves no container or volume, and keeps kind's network" {
  exported_then_deleted kets-kind-port
}

@test "kind export logs and kind delete cluster (kind's script): the same" {
  need_original
  exported_then_deleted kets-kind-orig
}
