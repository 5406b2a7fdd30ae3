# shellcheck shell=bash
# The podman tier of the container test bed: kind's second provider, rootful podman 4.3 from
# Debian with netavark and aardvark-dns. Sourced after lib.sh (scenarios.sh does both).
#
# What this host needs, and why:
# - runc, not crun: crun refuses cgroup v1/hybrid hosts ("cgroups in hybrid mode not supported");
#   netavark, so that aardvark-dns answers container names on the network's gateway. Both are
#   set in podman-containers.conf (e2e_podman in lib.sh passes it as CONTAINERS_CONF).
# - --ulimit nofile/nproc 20000: podman's defaults ask for more than this host's hard limits.
# - the same shim as the Docker tier stands in for --privileged (writable cgroup v1 controllers),
#   with `--security-opt unmask=ALL` for Docker's `systempaths=unconfined` (a writable /proc/sys,
#   which the pod network's sysctls need).
# - --userns=auto takes its ranges from the `containers` line of /etc/subuid and /etc/subgid,
#   which e2e_podman_ready adds when it is missing.
#
# On a network with DNS podman writes `search dns.podman`, the gateway (aardvark-dns) and the
# host's own nameservers into resolv.conf. The nodes get the first two only (`--dns GATEWAY
# --dns-search dns.podman`): the host's nameservers differ from host to host (the goldens could
# not hold them) and lead off the machine. aardvark itself forwards names it does not know, so
# tests only ever ask it for container names on the network, and host.docker.internal is pinned
# to 127.0.0.1 in /etc/hosts so the entrypoint's lookup never reaches DNS.

E2E_PODMAN_NETWORK=${E2E_PODMAN_NETWORK:-kets-podman}
# The subordinate ids --userns=auto hands out (2^31 upwards, as podman's documentation does).
E2E_SUBID_LINE=containers:2147483647:2147483648
# Where that line goes, and the marker naming the files the tier added it to (what `npm run
# clean` may take out again: the same line written by anyone else stays).
E2E_SUBID_FILES=${E2E_SUBID_FILES:-/etc/subuid /etc/subgid}
E2E_SUBID_MARKER=$E2E_CACHE_DIR/podman-subid-added

# Checks that podman and its network helpers are installed and that --userns=auto has ids to
# hand out. Fails with one line naming what is missing (the podman tier is part of the suite:
# scripts/setup.sh installs all of it).
e2e_podman_ready() {
  local tool file
  for tool in podman runc newuidmap; do
    command -v "$tool" >/dev/null || {
      e2e_log "$tool is missing: install podman netavark aardvark-dns runc uidmap (npm run setup)"
      return 1
    }
  done
  for tool in /usr/lib/podman/netavark /usr/lib/podman/aardvark-dns; do
    [[ -x $tool ]] || {
      e2e_log "$tool is missing: install netavark and aardvark-dns (npm run setup)"
      return 1
    }
  done
  e2e_subid_ensure || return 1
  e2e_podman_aardvark_settled
}

# Adds $E2E_SUBID_LINE to each of $E2E_SUBID_FILES that has no `containers:` line, and records
# that file in $E2E_SUBID_MARKER.
e2e_subid_ensure() {
  local file
  for file in $E2E_SUBID_FILES; do
    grep -q '^containers:' "$file" 2>/dev/null && continue
    mkdir -p "$(dirname "$E2E_SUBID_MARKER")" && echo "$file" >>"$E2E_SUBID_MARKER" &&
      echo "$E2E_SUBID_LINE" >>"$file" || {
      e2e_log "cannot add $E2E_SUBID_LINE to $file (podman's --userns=auto needs it): run as root"
      return 1
    }
  done
}

# Takes $E2E_SUBID_LINE out of the files $E2E_SUBID_MARKER names (e2e_subid_ensure added it
# there), then the marker; prints each file it changed.
e2e_subid_remove_added() {
  local file
  [[ -f $E2E_SUBID_MARKER ]] || return 0
  while IFS= read -r file; do
    [[ -f $file ]] && grep -qxF "$E2E_SUBID_LINE" "$file" || continue
    # Rewritten in place (not replaced), so the file keeps its owner and mode.
    grep -vxF "$E2E_SUBID_LINE" "$file" >"$file.kets-clean" || true
    cat "$file.kets-clean" >"$file"
    rm -f "$file.kets-clean"
    printf '%s\n' "$file"
  done < <(sort -u "$E2E_SUBID_MARKER")
  rm -f "$E2E_SUBID_MARKER"
}

# With no podman container left, waits (at most 5 s) until the last run's network teardown is
# over: its aardvark-dns gone and the tier's bridge deleted. Nodes started while it is still under
# way got no DNS at all (the gateway did not even answer TCP with a reset), in about one run of
# three started right after the previous one ended.
# Before the tier's first run on a machine the network does not exist yet: nothing to wait for.
e2e_podman_aardvark_settled() {
  local i bridge='' out
  [[ -z "$(e2e_podman ps -q 2>/dev/null)" ]] || return 0
  if e2e_podman network exists "$E2E_PODMAN_NETWORK" 2>/dev/null; then
    out="$(e2e_podman network inspect -f '{{.NetworkInterface}}' "$E2E_PODMAN_NETWORK" 2>&1)" || {
      e2e_log "podman network inspect $E2E_PODMAN_NETWORK failed: $out"
      return 1
    }
    bridge=$out
  fi
  for ((i = 0; i < 50; i++)); do
    if ! pgrep -x aardvark-dns >/dev/null &&
      { [[ -z $bridge ]] || ! ip link show "$bridge" >/dev/null 2>&1; }; then
      return 0
    fi
    sleep 0.1
  done
  e2e_log "podman's network teardown (aardvark-dns, bridge ${bridge:-?}) still under way after 5 s; going on"
}

# e2e_podman_image DOCKER_IMAGE: copies a local Docker image into podman's store (once: the image
# id is kept, so a present id means a current copy) and prints its id for `podman run`.
e2e_podman_image() {
  local id
  id="$(docker image inspect -f '{{.Id}}' "$1")" || return 1
  id=${id#sha256:}
  if ! e2e_podman image exists "$id" 2>/dev/null; then
    e2e_log "loading $1 into podman"
    docker save "$1" | e2e_quiet e2e_podman load -q || return 1
  fi
  printf '%s\n' "$id"
}

# Creates the podman network of the tier (DNS enabled: aardvark-dns on its gateway). Idempotent.
e2e_podman_network() {
  e2e_podman network exists "$E2E_PODMAN_NETWORK" 2>/dev/null && return 0
  e2e_quiet e2e_podman network create --label "$E2E_LABEL=network" "$E2E_PODMAN_NETWORK"
}

# e2e_podman_run_node NAME IMAGE [podman run args...] -- [CMD...]: a node as kind's podman
# provider runs it (minus --privileged: the shim stands in; `-e container=podman` as kind passes
# it, over the image's container=docker), on the tier's network. Prints the id.
e2e_podman_run_node() {
  local name=${1:?e2e_podman_run_node NAME IMAGE [args...] -- [CMD...]} image=${2:?image}
  shift 2
  local -a extra=() cmd=()
  e2e_split_node_args "$@"
  local gateway try rc
  e2e_podman_network || return 1
  gateway="$(e2e_podman_gateway)" || return 1
  # podman 4.3 can deadlock in `podman run --userns=auto`: seen once in a few dozen runs of this
  # tier, the process holding its storage locks and waiting forever (SIGTERM ignored). A run gets
  # 60 s, is killed after that, and is tried once more after its half-made container is removed.
  for try in 1 2; do
    rc=0
    _e2e_podman_run_node_once "$name" "$image" "$gateway" || rc=$?
    ((rc == 137)) || return "$rc"
    e2e_log "podman run of $name hung for 60 s (podman 4.3 with --userns=auto); killed it (try $try of 2)"
    e2e_podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  done
  return 1
}

# _e2e_podman_run_node_once NAME IMAGE GATEWAY: one `podman run` of e2e_podman_run_node (with its
# caller's `extra` and `cmd`), killed after 60 s (status 137 then).
_e2e_podman_run_node_once() {
  local name=$1 image=$2 gateway=$3
  E2E_PODMAN_KILL_AFTER=60 e2e_podman run -d --tty \
    --cap-add NET_ADMIN --cap-add SYS_ADMIN --cap-add NET_RAW \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --security-opt unmask=ALL \
    --cgroupns=private --tmpfs /tmp --tmpfs /run -v /var \
    --ulimit nofile=20000:20000 --ulimit nproc=20000:20000 \
    --stop-signal SIGRTMIN+3 -e container=podman \
    --network "$E2E_PODMAN_NETWORK" --dns "$gateway" --dns-search dns.podman \
    --add-host "host.docker.internal:127.0.0.1" \
    --hostname "$name" --name "$name" \
    --label "$E2E_LABEL=node" \
    -v "$E2E_DIR/shim.sh:/e2e/shim.sh:ro" --entrypoint /e2e/shim.sh \
    "${extra[@]}" "$image" "${cmd[@]}"
}

# Prints the IPv4 gateway of the tier's network: where aardvark-dns answers.
e2e_podman_gateway() {
  e2e_podman network inspect -f '{{range .Subnets}}{{.Gateway}} {{end}}' "$E2E_PODMAN_NETWORK" |
    tr ' ' '\n' | grep -m1 -E '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$'
}
