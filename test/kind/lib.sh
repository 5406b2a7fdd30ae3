# shellcheck shell=bash
# The kind tier: kind's own CLI (`kind create cluster`, `kind export logs`, `kind delete
# cluster`) creates nodes from the test bed's images. Sourced by test/kind/*.bats after
# test/e2e/lib.sh, whose images, egress guard and pod helpers it reuses.
#
# kind runs its nodes `--privileged`. Where the host refuses that, kind's commands (and only
# they) get test/kind/engine-wrapper.sh first on PATH as `docker` and `podman`; everything else
# kind does is its own. Nothing here sends traffic beyond the machine: the test bed's egress guard
# covers every forwarded IPv4 packet (kind's network included), and an IPv6 rule of the tier's own
# covers IPv6.

KIND_TIER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The kind release the tier runs, in one place (scripts/setup.sh installs it).
KIND_TIER_VERSION="$(<"$KIND_TIER_DIR/kind-version")"
# Where scripts/setup.sh puts kind when no kind of that version is on PATH.
KIND_TIER_CACHE_BIN="$E2E_CACHE_DIR/kind-$KIND_TIER_VERSION/kind"
# What kind reads from a node before kubeadm (its Kubernetes version picks kubeadm's config API):
# the version of the node image images/Dockerfile builds on.
KIND_TIER_NODE_VERSION=v1.36.1
# Comment marking the tier's IPv6 egress rule, so only that rule is ever deleted.
KIND_TIER_GUARD6_COMMENT=kets-kind-egress-guard6

# Prints the path of kind at the tier's version: `kind` on PATH if it is that version, else the
# one scripts/setup.sh built into the cache. Fails when there is neither.
kind_tier_find_kind() {
  local kind
  kind="$(command -v kind 2>/dev/null)" || kind=''
  if [[ -n $kind && "$("$kind" version 2>/dev/null)" == "kind $KIND_TIER_VERSION "* ]]; then
    printf '%s\n' "$kind"
  elif [[ -x $KIND_TIER_CACHE_BIN ]]; then
    printf '%s\n' "$KIND_TIER_CACHE_BIN"
  else
    return 1
  fi
}

# Prints the Go that builds kind: `go` on PATH, else Go's own install location. Fails without one.
kind_tier_go() {
  if command -v go 2>/dev/null; then
    return 0
  elif [[ -x /usr/local/go/bin/go ]]; then
    printf '%s\n' /usr/local/go/bin/go
  else
    return 1
  fi
}

# Prints why the tier cannot run on this machine, one line, or nothing when it can.
kind_tier_missing() {
  kind_tier_find_kind >/dev/null && return 0
  if ! kind_tier_go >/dev/null; then
    echo "kind $KIND_TIER_VERSION is not installed and there is no Go to build it (npm run setup installs kind where Go is)"
  else
    echo "kind $KIND_TIER_VERSION is not installed: npm run setup builds it with Go"
  fi
}

# Succeeds when the host runs containers with --privileged (then kind needs no wrapper).
kind_tier_privileged_works() {
  local base
  base="$(e2e_base_image)" || return 1
  docker run --rm --privileged --init=false --entrypoint /bin/true --label "$E2E_LABEL=probe" \
    "$base" >/dev/null 2>&1
}

# kind_tier_setup_path WORKDIR: exports KIND_TIER_PATH, the PATH of kind's commands: the engine
# wrappers first where --privileged is refused, the caller's PATH otherwise, and the wrappers'
# settings. Logs which it is.
kind_tier_setup_path() {
  local work=$1
  KIND_TIER_PATH=$PATH
  if kind_tier_privileged_works; then
    e2e_log "kind tier: --privileged works here: kind runs docker and podman as they are"
  else
    e2e_log "kind tier: --privileged is refused here: kind runs docker and podman through test/kind/engine-wrapper.sh"
    mkdir -p "$work/wrap" "$work/empty-lib-modules"
    ln -sf "$KIND_TIER_DIR/engine-wrapper.sh" "$work/wrap/docker"
    ln -sf "$KIND_TIER_DIR/engine-wrapper.sh" "$work/wrap/podman"
    KIND_TIER_PATH="$work/wrap:$PATH"
    export KIND_TIER_WRAPPER_LOG="$work/wrapper.log"
    export KIND_TIER_REAL_DOCKER KIND_TIER_REAL_PODMAN
    KIND_TIER_REAL_DOCKER="$(command -v docker)"
    KIND_TIER_REAL_PODMAN="$(command -v podman || echo /nonexistent/podman)"
    export KIND_TIER_SHIM="$E2E_DIR/shim.sh" KIND_TIER_EMPTY_MODULES="$work/empty-lib-modules"
    export KIND_TIER_PODMAN_CONF="$E2E_DIR/podman-containers.conf"
  fi
  export KIND_TIER_PATH
}

# kind_tier_kind [KIND ARGS...]: runs kind with the tier's PATH (and the caller's environment,
# e.g. KIND_EXPERIMENTAL_PROVIDER).
kind_tier_kind() {
  PATH=$KIND_TIER_PATH e2e_no_inherited_fds "$KIND_TIER_BIN" "$@"
}

# kind_tier_image IMAGE: prints the tag of IMAGE plus /kind/version (what kind reads before
# kubeadm), building it once per IMAGE id. The test bed's own images stay as they are: their
# /kind is part of the states its goldens hold.
kind_tier_image() {
  local id tag
  id="$(docker image inspect -f '{{.Id}}' "$1")" || return 1
  id=${id#sha256:}
  tag="kind-entrypoint-ts/kind-node:${id:0:12}"
  e2e_image_exists "$tag" && { printf '%s\n' "$tag"; return 0; }
  DOCKER_BUILDKIT=0 e2e_quiet docker build -t "$tag" --label "$E2E_LABEL=kind-node" - <<DOCKERFILE ||
FROM $1
RUN printf '%s\n' $KIND_TIER_NODE_VERSION >/kind/version
DOCKERFILE
    return 1
  printf '%s\n' "$tag"
}

# kind_tier_podman_image IMAGE: copies IMAGE into podman's store as localhost/IMAGE (kind's podman
# provider would otherwise take a name without a registry for Docker Hub's) and prints that name.
kind_tier_podman_image() {
  local id name="localhost/$1"
  id="$(e2e_podman_image "$1")" || return 1
  e2e_podman tag "$id" "$name" || return 1
  printf '%s\n' "$name"
}

# kind_tier_create NAME IMAGE OUTDIR [CONFIG]: `kind create cluster --retain` of NAME from IMAGE
# (never kind's default image), with CONFIG (a kind Cluster config) when given. kind's output goes
# to OUTDIR/NAME.out and its exit status to OUTDIR/NAME.status; the call itself always succeeds.
kind_tier_create() {
  local name=$1 image=$2 out=$3 config=${4:-} rc=0
  local -a args=(create cluster --name "$name" --image "$image" --retain)
  [[ -z $config ]] || args+=(--config "$config")
  kind_tier_kind "${args[@]}" >"$out/$name.out" 2>&1 || rc=$?
  echo "$rc" >"$out/$name.status"
}

# kind_tier_nodes NAME: the cluster's node containers (docker's or podman's, as kind lists them).
kind_tier_nodes() {
  kind_tier_kind get nodes --name "$1" 2>/dev/null
}

# kind_tier_delete NAME...: `kind delete cluster` of each (nodes and their volumes).
kind_tier_delete() {
  local name
  for name in "$@"; do
    kind_tier_kind delete cluster --name "$name" >/dev/null 2>&1 || true
  done
}

_kind_tier_guard6_rule() {
  local iface
  iface="$(ip -6 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')"
  [[ -n $iface ]] || return 1
  printf '%s\n' -o "$iface" -m comment --comment "$KIND_TIER_GUARD6_COMMENT" -j DROP
}

# Turns on the test bed's egress guard (IPv4, DOCKER-USER) and the tier's IPv6 one: kind's
# network is dual-stack, and an IPv6 packet forwarded out of the host's IPv6 default route is
# dropped and counted. Without an IPv6 default route nothing can leave that way.
kind_tier_guard_on() {
  e2e_egress_guard_on || return 1
  local -a rule
  mapfile -t rule < <(_kind_tier_guard6_rule)
  ((${#rule[@]})) || return 0
  ip6tables -C FORWARD "${rule[@]}" 2>/dev/null || ip6tables -I FORWARD 1 "${rule[@]}"
}

# Deletes every copy of the tier's IPv6 egress rule.
_kind_tier_guard6_remove() {
  local -a rule
  mapfile -t rule < <(_kind_tier_guard6_rule)
  ((${#rule[@]})) || return 0
  while ip6tables -C FORWARD "${rule[@]}" 2>/dev/null; do ip6tables -D FORWARD "${rule[@]}"; done
}

# Turns both guards off; fails if either dropped a packet.
kind_tier_guard_off() {
  local -a rule
  local dropped=0 rc=0
  mapfile -t rule < <(_kind_tier_guard6_rule)
  if ((${#rule[@]})); then
    dropped="$(ip6tables -n -v -x -L FORWARD 2>/dev/null |
      awk -v c="/* $KIND_TIER_GUARD6_COMMENT */" 'index($0, c) { n += $1 } END { print n + 0 }')"
  fi
  _kind_tier_guard6_remove
  e2e_egress_guard_off || rc=1
  if ((dropped != 0)); then
    e2e_log "IPv6 egress guard dropped $dropped packet(s) headed off the machine"
    rc=1
  fi
  return "$rc"
}

# Removes what a kind tier run cut short leaves: the nodes of its clusters (every cluster name
# starts with kets-kind-), with their volumes, under Docker and podman, and its IPv6 egress rule.
# kind's own network is left: it may be the machine's.
kind_tier_cleanup() {
  local -a ids
  mapfile -t ids < <(docker ps -aq --filter label=io.x-k8s.kind.cluster |
    xargs -r docker inspect -f '{{index .Config.Labels "io.x-k8s.kind.cluster"}} {{.Id}}' |
    awk '$1 ~ /^kets-kind-/ { print $2 }')
  e2e_rm "${ids[@]}"
  if command -v podman >/dev/null; then
    mapfile -t ids < <(e2e_podman ps -aq --filter label=io.x-k8s.kind.cluster 2>/dev/null |
      xargs -r -I{} env CONTAINERS_CONF="$E2E_DIR/podman-containers.conf" podman inspect \
        -f '{{index .Config.Labels "io.x-k8s.kind.cluster"}} {{.Id}}' {} |
      awk '$1 ~ /^kets-kind-/ { print $2 }')
    ((${#ids[@]} == 0)) || e2e_podman rm -f -t 0 "${ids[@]}" >/dev/null 2>&1 || true
    # kind's podman provider makes each node's /var a volume labelled NODE=true.
    mapfile -t ids < <(e2e_podman volume ls --format '{{.Name}} {{.Labels}}' 2>/dev/null |
      awk '$2 ~ /^map\[kets-kind-/ { print $1 }')
    ((${#ids[@]} == 0)) || e2e_podman volume rm -f "${ids[@]}" >/dev/null 2>&1 || true
  fi
  _kind_tier_guard6_remove
  return 0
}
