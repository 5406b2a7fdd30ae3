#!/usr/bin/env bash
# The container scenarios: each starts a node with some docker arguments (an env variable, an
# --add-host, fake DMI, pre-loaded legacy rules...) and compares the node's normalized state
# (state.sh) between the port and kind's original, or a committed golden of the original.
#
# Sourced by scenarios.bats. Run directly, it regenerates the goldens from the original:
#
#   KIND_ORIGINAL_ENTRYPOINT=/path/to/entrypoint bash test/e2e/scenarios.sh --golden [NAME...]
#
# writes test/e2e/golden/NAME.txt for every (or each named) scenario.

# shellcheck source=test/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

E2E_GOLDEN_DIR="$E2E_DIR/golden"
# Node names: kets-scn-NAME-port and kets-scn-NAME-orig.
E2E_SCN_PREFIX=kets-scn

# Every scenario, in the order of the results table.
E2E_SCENARIOS=(
  default
  hdi-host-gateway
  dns-search-unset
  dns-search-empty
  dns-search-set
  snapshotter-native
  snapshotter-fuse-overlayfs
  snapshotter-fuse-overlayfs-no-unit
  proxy
  fake-dmi
  iptables-legacy
  systemd
)

# Rules loaded with iptables-legacy before the entrypoint runs, so that legacy has more rules
# than Docker's six nft ones and select_iptables picks legacy (kube-proxy in legacy mode leaves a
# node like that across a restart).
# shellcheck disable=SC2016 # expanded by the node's bash
_E2E_LEGACY_PRELOAD='for i in 1 2 3 4 5 6 7 8; do iptables-legacy -A INPUT -s "192.0.2.$i/32" -j ACCEPT; done'

# A stand-in for the containerd-fuse-overlayfs unit of kind's base image, which the test bed's
# base lacks: just enough for `systemctl enable` to have something to enable.
_e2e_fuse_unit() {
  local dir=${E2E_CACHE_DIR}/fixtures file
  file="$dir/containerd-fuse-overlayfs.service"
  mkdir -p "$dir"
  cat >"$file.tmp" <<'EOF'
[Unit]
Description=Test-bed stand-in for containerd-fuse-overlayfs (enabled, never started)

[Service]
ExecStart=/bin/true

[Install]
WantedBy=multi-user.target
EOF
  mv "$file.tmp" "$file"
  printf '%s\n' "$file"
}

# scn_def NAME: sets SCN_ARGS (docker run args), SCN_CMD (the command after the entrypoint),
# SCN_WAIT (init: until `starting init` or exit; boot: until systemd reaches multi-user;
# exit: until the container stops), SCN_HDI (what host.docker.internal maps to), SCN_NOTE
# (why the scenario exists) and SCN_PORT_DIFF (a documented difference of the port, see
# scn_comparable).
# shellcheck disable=SC2034,SC2209 # the SCN_* globals are this function's results
scn_def() {
  SCN_ARGS=() SCN_CMD=(sleep infinity) SCN_WAIT=init SCN_HDI=127.0.0.1 SCN_NOTE='' SCN_PORT_DIFF=''
  case $1 in
    default) SCN_NOTE='kind flags only' ;;
    hdi-host-gateway)
      SCN_NOTE='host.docker.internal resolves to the host gateway (Docker-Desktop-like branch)'
      # Not an extra --add-host: the bed's own host.docker.internal:127.0.0.1 would come first.
      SCN_HDI=host-gateway ;;
    dns-search-unset)
      SCN_NOTE='KIND_DNS_SEARCH unset: search line kept'
      SCN_ARGS=(--dns-search e2e.test) ;;
    dns-search-empty)
      SCN_NOTE='KIND_DNS_SEARCH empty: search lines dropped'
      SCN_ARGS=(--dns-search e2e.test -e KIND_DNS_SEARCH=) ;;
    dns-search-set)
      SCN_NOTE='KIND_DNS_SEARCH set: search line replaced'
      SCN_ARGS=(--dns-search e2e.test -e 'KIND_DNS_SEARCH=example.test corp.example.test') ;;
    snapshotter-native)
      SCN_NOTE='KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER=native'
      SCN_ARGS=(-e KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER=native) ;;
    snapshotter-fuse-overlayfs)
      SCN_NOTE='fuse-overlayfs with a stand-in unit: systemctl enable succeeds'
      SCN_ARGS=(-e KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER=fuse-overlayfs
        -v "$(_e2e_fuse_unit):/etc/systemd/system/containerd-fuse-overlayfs.service:ro") ;;
    snapshotter-fuse-overlayfs-no-unit)
      SCN_NOTE='fuse-overlayfs without the unit: systemctl enable fails, the node stops'
      SCN_ARGS=(-e KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER=fuse-overlayfs)
      SCN_WAIT=exit
      SCN_PORT_DIFF=error-line ;;
    proxy)
      SCN_NOTE='HTTP_PROXY/HTTPS_PROXY/NO_PROXY into systemd DefaultEnvironment'
      SCN_ARGS=(-e HTTP_PROXY=http://proxy.e2e.test:3128 -e HTTPS_PROXY=http://proxy.e2e.test:3129
        -e 'NO_PROXY=localhost,127.0.0.1,10.96.0.0/12,.e2e.test') ;;
    fake-dmi)
      SCN_NOTE='DMI product_name/product_uuid present: faked by bind mounts'
      SCN_ARGS=(-e E2E_FAKE_DMI=1) ;;
    iptables-legacy)
      SCN_NOTE='legacy rules pre-loaded: legacy mode wins'
      # The shim's skip switch hands over to this bash, which loads the rules and execs the
      # entrypoint: it still runs as PID 1 and execs the command.
      SCN_ARGS=(-e E2E_SKIP_ENTRYPOINT=1)
      SCN_CMD=(bash -c "$_E2E_LEGACY_PRELOAD"'; exec /usr/local/bin/entrypoint "$@"' _ sleep infinity)
      SCN_PORT_DIFF=other-backend ;;
    systemd)
      SCN_NOTE='systemd as init, -t, state once Multi-User System is reached'
      SCN_CMD=(/sbin/init)
      SCN_WAIT=boot ;;
    *)
      e2e_log "unknown scenario: $1"
      return 1 ;;
  esac
}

# scn_node NAME IMPL: the node name of scenario NAME for IMPL (port or orig).
scn_node() { printf '%s-%s-%s\n' "$E2E_SCN_PREFIX" "$1" "$2"; }

# scn_start NAME IMPL IMAGE: starts the scenario's node (removing a leftover of the same name).
scn_start() {
  local name=$1 impl=$2 image=$3 node
  node="$(scn_node "$name" "$impl")"
  scn_def "$name" || return 1
  e2e_rm "$node"
  E2E_HOST_DOCKER_INTERNAL=$SCN_HDI \
    e2e_run_node "$node" "$image" "${SCN_ARGS[@]}" -- "${SCN_CMD[@]}" >/dev/null 2>&1 || {
    e2e_log "cannot start $node"
    return 1
  }
}

# scn_wait NAME IMPL [TIMEOUT_S=30]: waits until the scenario's node is where its state is taken.
scn_wait() {
  local name=$1 impl=$2 timeout=${3:-30} node i
  node="$(scn_node "$name" "$impl")"
  scn_def "$name" || return 1
  case $SCN_WAIT in
    boot) e2e_wait_booted "$node" "$timeout" ;;
    exit)
      for ((i = 0; i < timeout * 10; i++)); do
        [[ "$(docker inspect -f '{{.State.Running}}' "$node")" == false ]] && return 0
        sleep 0.1
      done
      e2e_log "$node still runs after ${timeout}s"
      return 1 ;;
    init)
      for ((i = 0; i < timeout * 10; i++)); do
        grep -qx 'INFO: starting init' <<<"$(e2e_logs "$node")" && return 0
        # Stopped before init: the state then says how it ended.
        [[ "$(docker inspect -f '{{.State.Running}}' "$node")" == false ]] && return 0
        sleep 0.1
      done
      e2e_log "$node: no 'starting init' within ${timeout}s"
      return 1 ;;
  esac
}

# scn_state NAME IMPL: the normalized state of the scenario's node.
scn_state() {
  bash "$E2E_DIR/state.sh" "$(scn_node "$1" "$2")"
}

# scn_comparable NAME IMPL: filters a normalized state on stdin down to what the port and the
# original must have in common. Only one documented difference is taken out (SCN_PORT_DIFF):
#   error-line: the port ends a failure with one `ERROR: <step>: <what failed>` line
#     (docs/failure-modes.md) where the original leaves it to the failing program's stderr; and
#     that program's stderr reaches the log through the port's pipe rather than the node's tty,
#     so it comes without the colour codes systemctl adds on a tty.
#   other-backend: legacy was selected but Docker wrote its DNS rules with iptables-nft; the port
#     rewrites them there (kind's bash leaves them, and DNS breaks), so the iptables-nft-save
#     section is compared by the test itself, not here.
scn_comparable() {
  local name=$1 impl=$2
  scn_def "$name" || return 1
  case $SCN_PORT_DIFF:$impl in
    error-line:port) grep -v '^ERROR: ' ;;
    error-line:orig) sed 's/\x1b\[[0-9;]*m//g' ;;
    other-backend:*) awk '/^### / { skip = ($0 == "### iptables-nft-save") } !skip' ;;
    *) cat ;;
  esac
}

# scn_golden NAME: the golden file of scenario NAME.
scn_golden() { printf '%s/%s.txt\n' "$E2E_GOLDEN_DIR" "$1"; }

# scn_summary: one line about a normalized state on stdin, for the results table: how it ended,
# the iptables mode, the nameserver, the mount count, and what the scenarios vary when it is
# not the default (search line, snapshotter, proxy, DMI product name, enabled units).
scn_summary() {
  awk '
    /^### / { section = $0; next }
    section == "### exit" { exit_status = $0 }
    section == "### log" && /^ERROR: / { error = $0 }
    section == "### log" && /^INFO: starting init$/ { init = 1 }
    section == "### iptables-alternative" { mode = $0; sub(/.*iptables-/, "", mode) }
    section == "### /etc/resolv.conf" && /^nameserver / { ns = $2 }
    section == "### /etc/resolv.conf" && /^search / { search = $0 }
    section == "### mount-count" { mounts = $0 }
    section == "### /etc/containerd/config.toml" && /snapshotter = / && !/"overlayfs"/ {
      snap = $0; sub(/^ */, "", snap)
    }
    section == "### /etc/systemd/system.conf.d" && /HTTP_PROXY=[^"]/ { proxy = "proxy set" }
    section == "### dmi" && /product_name: [^(]/ { dmi = "product_name " $2 }
    section == "### systemd-symlinks" && /\.wants\// { n = split($1, p, "/"); unit = "enabled " p[n] }
    END {
      if (exit_status != "") { printf "exit %s%s", exit_status, (error != "" ? ": " error : ""); exit }
      printf "%s, %s, ns %s, %s mounts", (init ? "init" : "no init"), mode, ns, mounts
      if (search != "") printf ", %s", search
      if (snap != "") printf ", %s", snap
      if (proxy != "") printf ", %s", proxy
      if (dmi != "") printf ", %s", dmi
      if (unit != "") printf ", %s", unit
    }'
}

# Regenerates the goldens from the original (see the header).
_scn_golden_main() {
  set -euo pipefail
  local -a names=()
  local arg image name
  for arg in "$@"; do
    case $arg in
      --golden) ;;
      -*) e2e_log "unknown option $arg" && return 2 ;;
      *) names+=("$arg") ;;
    esac
  done
  ((${#names[@]})) || names=("${E2E_SCENARIOS[@]}")
  e2e_ensure_dockerd
  image="$(e2e_original_image)"
  e2e_network
  mkdir -p "$E2E_GOLDEN_DIR"
  for name in "${names[@]}"; do scn_start "$name" orig "$image" & done
  wait
  for name in "${names[@]}"; do
    scn_wait "$name" orig
    scn_state "$name" orig >"$(scn_golden "$name").tmp"
    mv "$(scn_golden "$name").tmp" "$(scn_golden "$name")"
    e2e_log "wrote ${E2E_GOLDEN_DIR#"$E2E_REPO/"}/$name.txt"
    e2e_rm "$(scn_node "$name" orig)"
  done
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  if [[ ${1:-} != --golden ]]; then
    echo "usage: KIND_ORIGINAL_ENTRYPOINT=PATH $0 --golden [SCENARIO...]" >&2
    exit 2
  fi
  _scn_golden_main "$@"
fi
