# shellcheck shell=bash
# The container test bed: images, networks and kind-like nodes on the local dockerd.
#
# Sourced by bats tests and scripts. It sets no shell options (bats owns those); callers that
# are plain scripts should `set -euo pipefail` themselves. Functions print results on stdout and
# progress on stderr, and return non-zero on failure.
#
# Everything created here carries the label kind-entrypoint-ts.e2e (images built with
# scripts/build-image.ts: kind-entrypoint-ts.build=checkout), so e2e_cleanup_all can find it. Nothing here sends traffic beyond loopback, the nodes' namespaces and docker bridges.

E2E_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
E2E_REPO="$(cd "$E2E_DIR/../.." && pwd)"
E2E_LABEL=kind-entrypoint-ts.e2e
E2E_NETWORK=${E2E_NETWORK:-kets-e2e}
E2E_CACHE_DIR=${E2E_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kind-entrypoint-ts}
# Built on the offline stand-in base (no kubelet): named so it cannot be taken for a kind node image.
E2E_NODE_IMAGE=${E2E_NODE_IMAGE:-kind-entrypoint-ts/standin-not-for-kind:test}
# Comment that marks the egress guard rule, so we only ever delete our own rule.
E2E_GUARD_COMMENT=kets-e2e-egress-guard
# The pod network used by e2e_pod_dns_check inside a node (kind's default pod subnet).
E2E_POD_CIDR=10.244.0.0/24
E2E_POD_IP=10.244.0.2
E2E_POD_GW=10.244.0.1

e2e_log() { printf 'e2e: %s\n' "$*" >&2; }

# The container engine of the node functions below (e2e_rm, e2e_logs, e2e_wait_log, e2e_node_ip,
# e2e_pod_netns, e2e_pod_dns_check): docker, or podman for the podman tier (test/e2e/podman.sh).
E2E_ENGINE=${E2E_ENGINE:-docker}

# Runs the engine's CLI: `e2e_cli logs NODE` is `docker logs NODE` or podman's.
e2e_cli() {
  if [[ $E2E_ENGINE == podman ]]; then e2e_podman "$@"; else docker "$@"; fi
}

# Runs "$@" with no file descriptor above 2 open: a daemon it leaves behind (podman's conmon and
# aardvark-dns, dockerd) must not keep a caller's lock file (flock) open after the caller is gone.
e2e_no_inherited_fds() {
  (
    local fd
    for fd in /proc/"$BASHPID"/fd/*; do
      fd=${fd##*/}
      ((fd > 2)) && eval "exec $fd>&-"
    done
    exec "$@"
  )
}

# podman with the settings this host needs whatever its defaults (test/e2e/podman.sh says why):
# runc and netavark, from a containers.conf of our own. E2E_PODMAN_KILL_AFTER=SECONDS kills it
# after that long (status 137).
e2e_podman() {
  CONTAINERS_CONF="$E2E_DIR/podman-containers.conf" e2e_no_inherited_fds \
    ${E2E_PODMAN_KILL_AFTER:+timeout -s KILL "$E2E_PODMAN_KILL_AFTER"} podman "$@"
}

# Runs "$@" with its output hidden unless it fails; docker's build chatter (and the legacy
# builder's deprecation banner) would otherwise drown test output.
e2e_quiet() {
  local out rc=0
  out="$("$@" 2>&1)" || rc=$?
  if ((rc != 0)); then
    printf '%s\n' "$out" >&2
    e2e_log "failed ($rc): $*"
  fi
  return "$rc"
}

# Starts dockerd in the background unless one answers; waits up to 60 s for it.
e2e_ensure_dockerd() {
  local i
  docker info >/dev/null 2>&1 && return 0
  e2e_log 'starting dockerd (log: /tmp/dockerd.log)'
  # setsid: the daemon must outlive the test process group that started it. It must not inherit
  # any other open file either: a `flock FILE npm test` lock would be held for the daemon's life.
  e2e_no_inherited_fds setsid dockerd >/tmp/dockerd.log 2>&1 </dev/null &
  for ((i = 0; i < 120; i++)); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  e2e_log 'dockerd did not come up within 60 s; see /tmp/dockerd.log'
  return 1
}

# Prints a short content hash of the given files (their bytes, in order).
e2e_hash() {
  cat "$@" | sha256sum | cut -c1-12
}

# Runs "$@" while holding an exclusive lock named NAME, so parallel test files do not build the
# same image twice.
e2e_locked() {
  local name=$1
  shift
  mkdir -p "$E2E_CACHE_DIR"
  (
    flock 9
    "$@"
  ) 9>"$E2E_CACHE_DIR/$name.lock"
}

e2e_image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# Prints the tag of the offline base image (a debootstrapped stand-in for kind's base), building
# it on first use. The tag carries a hash of the recipe, so reruns only do one `docker image
# inspect`, and a changed recipe builds a new image.
e2e_base_image() {
  local tag
  tag="kind-entrypoint-ts/base:$(e2e_hash "$E2E_DIR/base-image.sh")" || return 1
  if ! e2e_image_exists "$tag"; then
    e2e_log "building $tag (debootstrap, ~45 s cold)"
    e2e_locked base _e2e_build_base "$tag" || return 1
  fi
  printf '%s\n' "$tag"
}

_e2e_build_base() {
  local tag=$1
  e2e_image_exists "$tag" && return 0
  E2E_CACHE_DIR="$E2E_CACHE_DIR" bash "$E2E_DIR/base-image.sh" "$tag"
}

# Prints the tag of a local image holding the Deno binary at /deno, built from the npm package.
# It stands in for denoland/deno:bin-<version> (same layout: one file, /deno), which we cannot
# pull offline.
e2e_deno_image() {
  local pkg="$E2E_REPO/node_modules/@deno/linux-x64-glibc"
  local version tag
  [[ -x "$pkg/deno" ]] || {
    e2e_log "no Deno binary at $pkg/deno: run npm install in $E2E_REPO"
    return 1
  }
  version="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg/package.json" | head -n1)"
  tag="kind-entrypoint-ts/deno:bin-$version"
  if ! e2e_image_exists "$tag"; then
    e2e_log "building $tag"
    # A single-file import is exactly what FROM scratch + COPY would give, without copying
    # 100+ MB into a build context first.
    tar -C "$pkg" --owner=0 --group=0 --numeric-owner -c deno |
      e2e_quiet docker import --change "LABEL $E2E_LABEL=deno" - "$tag" || return 1
  fi
  printf '%s\n' "$tag"
}

# Builds images/Dockerfile on the base and Deno images above; prints the tag
# ($E2E_NODE_IMAGE, default kind-entrypoint-ts/standin-not-for-kind:test) with scripts/build-image.ts, as
# `npm run image` does. Docker's layer cache makes a rebuild with an unchanged bundle take about a
# second. ENTRY=path builds a custom entrypoint instead of the project's own.
e2e_node_image() {
  local base deno
  base="$(e2e_base_image)" || return 1
  deno="$(e2e_deno_image)" || return 1
  e2e_log "building $E2E_NODE_IMAGE"
  IMAGE="$E2E_NODE_IMAGE" BASE_IMAGE="$base" DENO_IMAGE="$deno" \
    e2e_quiet "$E2E_REPO/node_modules/.bin/deno" run -A "$E2E_REPO/scripts/build-image.ts" || return 1
  printf '%s\n' "$E2E_NODE_IMAGE"
}

# Prints the tag of the base image plus kind's original entrypoint script, taken from the path
# in KIND_ORIGINAL_ENTRYPOINT. The script is only ever copied in at test time.
e2e_original_image() {
  local script=${KIND_ORIGINAL_ENTRYPOINT:-}
  local base tag ctx
  [[ -n "$script" && -f "$script" ]] || {
    e2e_log 'KIND_ORIGINAL_ENTRYPOINT is not set to a file'
    return 1
  }
  base="$(e2e_base_image)" || return 1
  tag="kind-entrypoint-ts/original:${base##*:}-$(e2e_hash "$script")"
  if ! e2e_image_exists "$tag"; then
    ctx="$(mktemp -d)"
    cp "$script" "$ctx/entrypoint"
    chmod 0755 "$ctx/entrypoint"
    cat >"$ctx/Dockerfile" <<EOF
FROM $base
COPY entrypoint /usr/local/bin/entrypoint
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
EOF
    e2e_quiet docker build -t "$tag" --label "$E2E_LABEL=original" "$ctx" || {
      rm -rf "$ctx"
      return 1
    }
    rm -rf "$ctx"
  fi
  printf '%s\n' "$tag"
}

# Creates the user-defined network the nodes share (it is what gives them Docker's embedded DNS
# at 127.0.0.11, like kind's "kind" network). Idempotent. E2E_SUBNET pins the subnet.
e2e_network() {
  docker network inspect "$E2E_NETWORK" >/dev/null 2>&1 && return 0
  local -a args=(--driver bridge --label "$E2E_LABEL=network")
  [[ -n "${E2E_SUBNET:-}" ]] && args+=(--subnet "$E2E_SUBNET")
  e2e_quiet docker network create "${args[@]}" "$E2E_NETWORK"
}

# Prints the network's IPv4 gateway: the docker host as the nodes see it, which is where the
# entrypoint points node DNS.
e2e_network_gateway() {
  local gateways
  gateways="$(docker network inspect -f '{{range .IPAM.Config}}{{.Gateway}} {{end}}' "$E2E_NETWORK")" ||
    return 1
  # The IPv4 one, should the network be dual-stack.
  grep -m1 -E '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' <<<"${gateways// /$'\n'}"
}

# Prints the interface of the host's IPv4 default route (not always eth0).
e2e_egress_iface() {
  ip -4 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }'
}

_e2e_guard_rule() {
  local iface
  iface="$(e2e_egress_iface)" || return 1
  [[ -n "$iface" ]] || { e2e_log 'no IPv4 default route: nothing to guard'; return 1; }
  printf '%s\n' -o "$iface" -m comment --comment "$E2E_GUARD_COMMENT" -j DROP
}

# Drops anything forwarded from containers to the outside world, so a test that misroutes
# packets fails loudly instead of leaking them. DOCKER-USER is created by dockerd at start.
e2e_egress_guard_on() {
  local -a rule
  mapfile -t rule < <(_e2e_guard_rule) && ((${#rule[@]})) || return 1
  iptables -n -L DOCKER-USER >/dev/null 2>&1 || {
    e2e_log 'no DOCKER-USER chain: is dockerd running with iptables enabled?'
    return 1
  }
  iptables -C DOCKER-USER "${rule[@]}" 2>/dev/null || iptables -I DOCKER-USER 1 "${rule[@]}"
}

# Prints how many packets the egress guard has dropped (0 when the guard is off).
e2e_egress_guard_packets() {
  iptables -n -v -x -L DOCKER-USER 2>/dev/null |
    awk -v c="/* $E2E_GUARD_COMMENT */" 'index($0, c) { n += $1 } END { print n + 0 }'
}

# Removes the egress guard; fails if it dropped anything, i.e. if some test traffic tried to
# leave the machine.
e2e_egress_guard_off() {
  local -a rule
  local dropped
  dropped="$(e2e_egress_guard_packets)"
  mapfile -t rule < <(_e2e_guard_rule) && ((${#rule[@]})) || return 1
  while iptables -C DOCKER-USER "${rule[@]}" 2>/dev/null; do
    iptables -D DOCKER-USER "${rule[@]}"
  done
  if ((dropped != 0)); then
    e2e_log "egress guard dropped $dropped packet(s) headed off the machine"
    return 1
  fi
}

# e2e_run_node NAME IMAGE [extra docker run args...] -- [CMD...]
#
# Starts a detached node the way kind does (minus --privileged, which fails on this host), with
# test/e2e/shim.sh mounted and run first; the shim then execs the image's
# /usr/local/bin/entrypoint with CMD (default /sbin/init). Extra args go before the image, e.g.
# `-e E2E_FAKE_DMI=1`. host.docker.internal is 127.0.0.1 unless E2E_HOST_DOCKER_INTERNAL says
# otherwise (e.g. host-gateway): an extra `--add-host host.docker.internal:...` comes second in
# /etc/hosts, and getaddrinfo answers with the first, so it would not change what the node sees.
# Prints the container id.
e2e_run_node() {
  local name=${1:?e2e_run_node NAME IMAGE [args...] -- [CMD...]} image=${2:?image}
  shift 2
  local -a extra=() cmd=()
  e2e_split_node_args "$@"
  e2e_network || return 1
  # --tty as kind does: the entrypoint's and systemd's console output reach `docker logs`
  # (with CRLF line ends). `--dns 127.0.0.1` is deliberate (see above), so docker's warning about
  # it is taken out of stderr; docker's exit status is kept whatever pipefail says.
  local rc=0
  { docker run -d --tty \
    --cap-add NET_ADMIN --cap-add SYS_ADMIN --cap-add NET_RAW \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --security-opt systempaths=unconfined \
    --cgroupns=private --tmpfs /tmp --tmpfs /run -v /var --init=false \
    --stop-signal SIGRTMIN+3 \
    --network "$E2E_NETWORK" --dns 127.0.0.1 \
    --add-host "host.docker.internal:${E2E_HOST_DOCKER_INTERNAL:-127.0.0.1}" \
    --hostname "$name" --name "$name" \
    --label "$E2E_LABEL=node" \
    -v "$E2E_DIR/shim.sh:/e2e/shim.sh:ro" --entrypoint /e2e/shim.sh \
    "${extra[@]}" "$image" "${cmd[@]}" 2>&1 1>&3 3>&- | _e2e_without_localhost_dns_warning >&2
    rc=${PIPESTATUS[0]}
  } 3>&1
  return "$rc"
}

# Copies stdin to stdout without docker run's warning about `--dns 127.0.0.1`, which every node
# of the test bed gets on purpose (no test may query a resolver off the machine).
_e2e_without_localhost_dns_warning() {
  # Docker 20.10 says `Localhost DNS setting (--dns=127.0.0.1)`, newer clients `Localhost DNS (127.0.0.1)`.
  grep -vE '^WARNING: Localhost DNS (setting \(--dns=127\.0\.0\.1\)|\(127\.0\.0\.1\)) may fail in containers\.$' || true
}

# e2e_split_node_args [ARGS...] -- [CMD...]: sets the caller's local arrays `extra` (the engine's
# run arguments) and `cmd` (the command after the entrypoint, /sbin/init when none is given).
e2e_split_node_args() {
  while (($#)); do
    if [[ $1 == -- ]]; then
      shift
      cmd=("$@")
      break
    fi
    extra+=("$1")
    shift
  done
  ((${#cmd[@]})) || cmd=(/sbin/init)
}

# Removes containers with their anonymous volumes (every node has one, for /var).
e2e_rm() {
  (($#)) || return 0
  if [[ $E2E_ENGINE == podman ]]; then
    # --ignore: podman 4.3 given one missing name (an original node that was never started)
    # removes none of the others, and still exits 0.
    e2e_podman rm -f -i -v -t 0 "$@" >/dev/null 2>&1 || true
  else
    docker rm -f -v "$@" >/dev/null 2>&1 || true
  fi
}

# Prints the ids of the images the test bed and `npm run image` made, newest first (an image
# before the image it was built on), under the engine named by $1 (docker or podman). Those are
# the images labelled $E2E_LABEL or kind-entrypoint-ts.build=checkout, but not an image the
# package's build-image made (kind-entrypoint-ts.build=package): that is a user's, even when it was
# built on the test bed's stand-in base and so inherited its label.
e2e_own_images() {
  local id build
  local -a ids
  mapfile -t ids < <({
    E2E_ENGINE=$1 e2e_cli images -q --filter "label=$E2E_LABEL"
    E2E_ENGINE=$1 e2e_cli images -q --filter "label=kind-entrypoint-ts.build=checkout"
  } 2>/dev/null | awk '!seen[$0]++')
  for id in "${ids[@]}"; do
    build="$(E2E_ENGINE=$1 e2e_cli image inspect \
      -f '{{index .Config.Labels "kind-entrypoint-ts.build"}}' "$id" 2>/dev/null)" || continue
    [[ $build == package ]] || printf '%s\n' "$id"
  done
}

# Removes every container (with its anonymous volumes) and network this library created, under
# Docker and podman; keeps the images, which are the expensive part. `e2e_cleanup_all --images`
# removes those as well (e2e_own_images), one by one: an image a user built on one of them stays,
# and so does the image under it (the engine refuses; a line says so).
e2e_cleanup_all() {
  local -a ids
  local engine id
  mapfile -t ids < <(docker ps -aq --filter "label=$E2E_LABEL")
  e2e_rm "${ids[@]}"
  mapfile -t ids < <(docker network ls -q --filter "label=$E2E_LABEL")
  ((${#ids[@]})) && docker network rm "${ids[@]}" >/dev/null
  local -a engines=(docker)
  # The podman tier's nodes, network and images, when podman is there.
  if command -v podman >/dev/null; then
    engines+=(podman)
    mapfile -t ids < <(e2e_podman ps -aq --filter "label=$E2E_LABEL" 2>/dev/null)
    ((${#ids[@]})) && E2E_ENGINE=podman e2e_rm "${ids[@]}"
    mapfile -t ids < <(e2e_podman network ls -q --filter "label=$E2E_LABEL" 2>/dev/null)
    ((${#ids[@]})) && e2e_podman network rm "${ids[@]}" >/dev/null 2>&1
  fi
  if [[ ${1:-} == --images ]]; then
    for engine in "${engines[@]}"; do
      mapfile -t ids < <(e2e_own_images "$engine")
      for id in "${ids[@]}"; do
        E2E_ENGINE=$engine e2e_cli rmi -f "$id" >/dev/null 2>&1 ||
          e2e_log "kept $engine image $id: other images are built on it"
      done
    done
  fi
  return 0
}

# e2e_clean_recorded LOG [IMAGE_ID...]: runs `npm run clean` (scripts/clean.sh) with docker and
# podman wrapped, for a test that must leave the shared test bed in place: listings and inspects
# reach the engines; each call that would remove something (rm, rmi, network rm) is appended to
# LOG as `ENGINE ARGS...` and carried out only when every image it names is one of IMAGE_IDs.
e2e_clean_recorded() {
  local log=$1 bin engine real status=0
  shift
  bin="$(mktemp -d)"
  for engine in docker podman; do
    real="$(command -v "$engine")" || continue
    cat >"$bin/$engine" <<EOF
#!/usr/bin/env bash
case "\$1 \${2:-}" in
  "rm "* | "rmi "* | "network rm" | "image rm")
    echo "$engine \$*" >>"$log"
    [[ \$1 == rmi ]] || exit 0
    for word in "\${@:2}"; do
      [[ \$word == -* || " $* " == *" \$word "* ]] || exit 0
    done
    exec "$real" "\$@" ;;
esac
exec "$real" "\$@"
EOF
    chmod +x "$bin/$engine"
  done
  PATH="$bin:$PATH" bash "$E2E_REPO/scripts/clean.sh" || status=$?
  rm -rf "$bin"
  return "$status"
}

# Prints the container's logs without the tty's carriage returns and terminal escape sequences
# (systemd's coloured console, systemctl's red errors), so they read the same in a file.
e2e_logs() {
  e2e_cli logs "$1" 2>&1 | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g'
}

# e2e_wait_log NAME ERE [TIMEOUT_S=30]: waits until the container's logs match ERE. Fails early
# if the container stops.
e2e_wait_log() {
  local name=$1 re=$2 timeout=${3:-30} i
  for ((i = 0; i < timeout * 10; i++)); do
    # Logs go through a variable, not a pipe into grep -q: grep's early exit would make the
    # pipeline fail with SIGPIPE under pipefail.
    grep -qE -- "$re" <<<"$(e2e_logs "$name")" && return 0
    [[ "$(e2e_cli inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" == true ]] || {
      # One last look: the line may have been written just before exit.
      grep -qE -- "$re" <<<"$(e2e_logs "$name")" && return 0
      e2e_log "$name stopped before its logs matched /$re/"
      e2e_logs "$name" | tail -n 20 >&2
      return 1
    }
    sleep 0.1
  done
  e2e_log "$name: no log line matched /$re/ within ${timeout}s"
  e2e_logs "$name" | tail -n 20 >&2
  return 1
}

# e2e_wait_pid1 NODE COMM: waits (up to 10 s) until the node's PID 1 is COMM, i.e. the shim
# has done its work and exec'd the command (e.g. `sleep` under E2E_SKIP_ENTRYPOINT).
e2e_wait_pid1() {
  local i
  for ((i = 0; i < 100; i++)); do
    [[ "$(docker exec "$1" cat /proc/1/comm 2>/dev/null)" == "$2" ]] && return 0
    sleep 0.1
  done
  e2e_log "$1: PID 1 is not $2 after 10 s"
  return 1
}

# Waits for systemd in the node to reach multi-user (the line kind itself waits for).
e2e_wait_booted() {
  e2e_wait_log "$1" 'Reached target .*Multi-User System' "${2:-30}"
}

# Prints the node's IPv4 address on the test network.
e2e_node_ip() {
  e2e_cli inspect -f "{{(index .NetworkSettings.Networks \"$E2E_NETWORK\").IPAddress}}" "$1"
}

# e2e_pod_netns NODE: gives NODE a "pod": network namespace `pod` with a veth to the node,
# routed through it, with pod egress masqueraded so no pod-sourced packet leaves the node.
# route_localnet=1 lets DNAT to 127.0.0.11 work for traffic arriving from the veth, as kind's
# base image sysctl does. Idempotent: a node that already has the namespace is left alone (so a
# test may change sysctls afterwards).
e2e_pod_netns() {
  local node=$1
  e2e_cli exec -i "$node" bash -s "$E2E_POD_CIDR" "$E2E_POD_IP" "$E2E_POD_GW" <<'EOF'
set -euo pipefail
cidr=$1 pod_ip=$2 gw=$3
[[ -e /run/netns/pod ]] && exit 0
ip netns add pod
ip link add veth-pod type veth peer name eth0 netns pod
ip addr add "$gw/24" dev veth-pod
ip link set veth-pod up
ip -n pod addr add "$pod_ip/24" dev eth0
ip -n pod link set lo up
ip -n pod link set eth0 up
ip -n pod route add default via "$gw"
sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.route_localnet=1
iptables -t nat -C POSTROUTING -s "$cidr" ! -d "$cidr" -j MASQUERADE 2>/dev/null ||
  iptables -t nat -A POSTROUTING -s "$cidr" ! -d "$cidr" -j MASQUERADE
EOF
}

# e2e_pod_dns_check NODE HOST_IP NAME [+tcp]
#
# Resolves NAME from a pod in NODE through HOST_IP (the docker host as seen by the node, i.e.
# the network gateway), over UDP or, with +tcp, TCP. Prints the A records; fails when there are
# none. One try of 5 s: the answer is Docker's resolver's on a loaded machine, and a negative
# control is refused at once or, where packets are dropped, costs those 5 s.
e2e_pod_dns_check() {
  local node=$1 host_ip=$2 name=$3 proto=${4:-}
  local out
  e2e_pod_netns "$node" || return 1
  out="$(e2e_cli exec "$node" ip netns exec pod \
    dig +short +time=5 +tries=1 ${proto:+"$proto"} "@$host_ip" "$name" A 2>&1)" || true
  out="$(grep -E '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' <<<"$out")" || {
    e2e_log "pod DNS in $node via $host_ip${proto:+ ($proto)} did not resolve $name"
    return 1
  }
  printf '%s\n' "$out"
}

# e2e_stops_through_systemd NODE: `docker stop` ends NODE through systemd, not docker's SIGKILL.
# Had the stop signal been ignored, docker would SIGKILL the node at the end of the grace period
# and record exit status 137; systemd's halt exits otherwise. The status says so however long a
# loaded machine takes (a bound on the time taken would be a race), so the grace period is long.
e2e_stops_through_systemd() {
  local status
  docker stop -t 120 "$1" >/dev/null
  [[ "$(docker inspect -f '{{.State.Running}}' "$1")" == false ]] || return 1
  status="$(docker inspect -f '{{.State.ExitCode}}' "$1")"
  echo "exit status ${status}"
  [[ "$status" != 137 ]]
}

# e2e_pod6 NODE: an IPv6-only pod in NODE (the engine's, E2E_ENGINE), netns pod6: a veth,
# fd00:10:244:7::2/64 and a default route via the node side fd00:10:244:7::1; no IPv4 at all.
# `nodad` skips duplicate address detection. Idempotent.
e2e_pod6() {
  e2e_cli exec -i "$1" bash -s <<'EOF'
set -euo pipefail
[[ -e /run/netns/pod6 ]] && exit 0
ip netns add pod6
ip link add veth-pod6 type veth peer name eth0 netns pod6
ip -6 addr add fd00:10:244:7::1/64 dev veth-pod6 nodad
ip link set veth-pod6 up
ip -n pod6 -6 addr add fd00:10:244:7::2/64 dev eth0 nodad
ip -n pod6 link set lo up
ip -n pod6 link set eth0 up
ip -n pod6 -6 route add default via fd00:10:244:7::1
EOF
}

# The results table of the container scenarios (scenarios.bats, rerun.bats, dry_run.bats): each
# test records its row, each file its wall time, and the whole is rewritten on every record, so
# the file always holds the latest result of every row. It lives outside the work tree so a test
# run leaves the checkout clean; `E2E_RESULTS_FILE=test/e2e/RESULTS.md npm run test:e2e`
# refreshes the committed table.
E2E_RESULTS_FILE=${E2E_RESULTS_FILE:-${TMPDIR:-/tmp}/kind-entrypoint-ts-e2e-results.md}

# e2e_result FILE SCENARIO ORIGINAL PORT: records (or replaces) the row of FILE's SCENARIO.
e2e_result() {
  _e2e_results_upsert scenarios "| $1 | $2 |" "| $1 | $2 | $(_e2e_cell "$3") | $(_e2e_cell "$4") |"
}

# e2e_result_time FILE SECONDS TESTS: records how long FILE took (setup, tests and teardown).
e2e_result_time() {
  _e2e_results_upsert files "| $1 |" "| $1 | $3 | $2 s |"
}

# Prints the results table (as written to E2E_RESULTS_FILE).
e2e_results_print() {
  [[ -f $E2E_RESULTS_FILE ]] && cat "$E2E_RESULTS_FILE"
}

# A table cell: no pipes, no newlines.
_e2e_cell() {
  local text=${1//|//}
  printf '%s' "${text//$'\n'/; }"
}

_e2e_results_upsert() {
  local table=$1 key=$2 row=$3
  mkdir -p "$E2E_CACHE_DIR"
  (
    flock 9
    local -a scenarios=() files=()
    local line section='' found=0
    if [[ -f $E2E_RESULTS_FILE ]]; then
      while IFS= read -r line; do
        case $line in
          '## Scenarios'*) section=scenarios ;;
          '## Files'*) section=files ;;
          '| file |'* | '| ---'*) ;;
          '| '*)
            [[ $section == scenarios ]] && scenarios+=("$line")
            [[ $section == files ]] && files+=("$line") ;;
        esac
      done <"$E2E_RESULTS_FILE"
    fi
    local -n rows=$table
    local i
    for i in "${!rows[@]}"; do
      if [[ ${rows[i]} == "$key"* ]]; then
        rows[i]=$row
        found=1
      fi
    done
    ((found)) || rows+=("$row")
    {
      cat <<'EOF'
# Container scenarios: results

Written by the e2e tier (`test/e2e/*.bats`, `e2e_result` in `lib.sh`) as it runs: each row
is the latest result of that test. "original" is kind's script when
`KIND_ORIGINAL_ENTRYPOINT` is set, else the committed golden it left in `golden/`.
EOF
      echo "Last written $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, kernel $(uname -r)."
      echo
      echo '## Scenarios'
      echo
      echo '| file | scenario | original | port |'
      echo '| --- | --- | --- | --- |'
      ((${#scenarios[@]} == 0)) || printf '%s\n' "${scenarios[@]}"
      echo
      echo '## Files'
      echo
      echo '| file | tests | wall time |'
      echo '| --- | --- | --- |'
      ((${#files[@]} == 0)) || printf '%s\n' "${files[@]}"
    } >"$E2E_RESULTS_FILE.tmp"
    mv "$E2E_RESULTS_FILE.tmp" "$E2E_RESULTS_FILE"
  ) 9>"$E2E_CACHE_DIR/results.lock"
}
