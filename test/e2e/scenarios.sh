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
# shellcheck source=test/e2e/podman.sh
source "$(dirname "${BASH_SOURCE[0]}")/podman.sh"

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
  cgroup2
  cgroup2-fake-dmi
  cgroup2-systemd
  default-bridge
)

# The podman tier's scenarios (podman.bats), run by podman on a network with aardvark-dns.
E2E_PODMAN_SCENARIOS=(
  podman-default
  podman-dns-search-set
  podman-dns-search-empty
  podman-restart
  podman-userns
  podman-userns-cgroup2
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
# exit: until the container stops; restart: init, then manifests naming the node's address
# are planted and the node is restarted, until its second `starting init`), SCN_HDI (what
# host.docker.internal maps to), SCN_ENGINE (docker or podman), SCN_NETWORK (the network the
# node is on), SCN_NOTE (why the scenario exists) and SCN_PORT_DIFF (a documented difference of
# the port, see scn_comparable).
# shellcheck disable=SC2034,SC2209 # the SCN_* globals are this function's results
scn_def() {
  SCN_ARGS=() SCN_CMD=(sleep infinity) SCN_WAIT=init SCN_HDI=127.0.0.1 SCN_NOTE='' SCN_PORT_DIFF=''
  SCN_ENGINE=docker SCN_NETWORK=$E2E_NETWORK
  if [[ $1 == podman-* ]]; then
    SCN_ENGINE=podman SCN_NETWORK=$E2E_PODMAN_NETWORK
  fi
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
    cgroup2)
      SCN_NOTE='cgroup v2 node view (unified hierarchy only): the v1 fixes are skipped'
      SCN_ARGS=(-e E2E_CGROUP2=1) ;;
    cgroup2-fake-dmi)
      SCN_NOTE='cgroup v2 node view with DMI product files'
      SCN_ARGS=(-e E2E_CGROUP2=1 -e E2E_FAKE_DMI=1) ;;
    cgroup2-systemd)
      SCN_NOTE='cgroup v2 node view, systemd as init reaches Multi-User System'
      SCN_ARGS=(-e E2E_CGROUP2=1)
      SCN_CMD=(/sbin/init)
      SCN_WAIT=boot ;;
    default-bridge)
      SCN_NOTE="Docker's default bridge: no embedded DNS, nothing to move"
      SCN_NETWORK=bridge
      SCN_PORT_DIFF=tie-nft ;;
    podman-default)
      SCN_NOTE='podman, aardvark-dns on the gateway, search dns.podman, no 127.0.0.11 rules'
      SCN_PORT_DIFF=tie-nft ;;
    podman-dns-search-set)
      SCN_NOTE='podman, KIND_DNS_SEARCH set: dns.podman replaced'
      SCN_ARGS=(-e 'KIND_DNS_SEARCH=example.test corp.example.test')
      SCN_PORT_DIFF=tie-nft ;;
    podman-dns-search-empty)
      SCN_NOTE='podman, KIND_DNS_SEARCH empty: dns.podman dropped'
      SCN_ARGS=(-e KIND_DNS_SEARCH=)
      SCN_PORT_DIFF=tie-nft ;;
    podman-restart)
      SCN_NOTE='podman restart gives a new address: manifests and /kind/old-ipv4 follow it'
      SCN_WAIT=restart
      SCN_PORT_DIFF=tie-nft ;;
    podman-userns)
      SCN_NOTE='podman --userns=auto on cgroup v1: both stop in fix_cgroup'
      SCN_ARGS=(--userns=auto)
      SCN_WAIT=exit
      SCN_PORT_DIFF=own-messages ;;
    podman-userns-cgroup2)
      SCN_NOTE='podman --userns=auto on a cgroup v2 view: validate_userns stops (no delegated controllers)'
      SCN_ARGS=(--userns=auto -e E2E_CGROUP2=1)
      SCN_WAIT=exit ;;
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
  local -x E2E_ENGINE=$SCN_ENGINE E2E_NETWORK=$SCN_NETWORK
  e2e_rm "$node"
  if [[ $SCN_ENGINE == podman ]]; then
    e2e_podman_run_node "$node" "$image" "${SCN_ARGS[@]}" -- "${SCN_CMD[@]}" >/dev/null 2>&1
  else
    E2E_HOST_DOCKER_INTERNAL=$SCN_HDI \
      e2e_run_node "$node" "$image" "${SCN_ARGS[@]}" -- "${SCN_CMD[@]}" >/dev/null 2>&1
  fi || {
    e2e_log "cannot start $node"
    return 1
  }
}

# scn_start_all PORT_IMAGE ORIG_IMAGE NAME...: starts the scenarios' port nodes and, unless
# ORIG_IMAGE is empty, their original nodes: Docker's all at once, podman's one after another
# (a dozen concurrent `podman run`s with --userns=auto deadlocked podman 4.3 here).
scn_start_all() {
  local port=$1 orig=$2 name
  shift 2
  for name in "$@"; do
    scn_def "$name" || return 1
    if [[ $SCN_ENGINE == podman ]]; then
      scn_start "$name" port "$port" && _scn_settled "$name" port
      [[ -z $orig ]] || { scn_start "$name" orig "$orig" && _scn_settled "$name" orig; }
    else
      scn_start "$name" port "$port" &
      [[ -z $orig ]] || scn_start "$name" orig "$orig" &
    fi
  done
  wait
}

# _scn_settled NAME IMPL: for a scenario whose node exits at once (SCN_WAIT=exit), waits (at most
# 10 s each) until it has exited and podman's cleanup of it (`podman container cleanup ID`, run by
# conmon) is over: the next `podman run --userns=auto` hung once while that cleanup ran.
_scn_settled() {
  local name=$1 impl=$2 node id i
  scn_def "$name" || return 1
  [[ $SCN_WAIT == exit ]] || return 0
  node="$(scn_node "$name" "$impl")"
  local -x E2E_ENGINE=$SCN_ENGINE E2E_NETWORK=$SCN_NETWORK
  id="$(e2e_cli inspect -f '{{.Id}}' "$node" 2>/dev/null)" || return 0
  for ((i = 0; i < 100; i++)); do _scn_running "$node" || break; sleep 0.1; done
  for ((i = 0; i < 100; i++)); do pgrep -f "container cleanup $id" >/dev/null || break; sleep 0.1; done
  return 0
}

# _scn_running NODE: true while the node runs.
_scn_running() { [[ "$(e2e_cli inspect -f '{{.State.Running}}' "$1")" == true ]]; }

# _scn_wait_inits NODE COUNT TIMEOUT_S: waits for the COUNT-th `starting init`, or the node's
# exit.
_scn_wait_inits() {
  local node=$1 count=$2 timeout=$3 i
  for ((i = 0; i < timeout * 10; i++)); do
    (($(grep -cx 'INFO: starting init' <<<"$(e2e_logs "$node")") >= count)) && return 0
    # Stopped before init: the state then says how it ended.
    _scn_running "$node" || return 0
    sleep 0.1
  done
  e2e_log "$node: no 'starting init' number $count within ${timeout}s"
  return 1
}

# The manifest planted before a restart: the node's address as a whole word (rewritten), and as
# the prefix of a longer number (left alone).
E2E_RESTART_MANIFEST=/etc/kubernetes/manifests/kube-apiserver.yaml

# _scn_restart NODE TIMEOUT_S: plants a manifest naming the node's current address, restarts the
# node (podman gives it a new address) and waits for the entrypoint's second run.
_scn_restart() {
  local node=$1 timeout=$2 old
  old="$(e2e_node_ip "$node")" || return 1
  # Planted once: a second wait on the same node must not restart it again.
  if ! e2e_cli exec "$node" test -e "$E2E_RESTART_MANIFEST"; then
    e2e_cli exec -i "$node" sh -c "cat >$E2E_RESTART_MANIFEST" <<EOF || return 1
advertise-address: $old
url: https://$old:6443
longer-address-kept: ${old}0
EOF
    e2e_cli restart -t 0 "$node" >/dev/null || return 1
  fi
  _scn_wait_inits "$node" 2 "$timeout"
}

# scn_wait NAME IMPL [TIMEOUT_S=30]: waits until the scenario's node is where its state is taken.
scn_wait() {
  local name=$1 impl=$2 timeout=${3:-30} node i
  node="$(scn_node "$name" "$impl")"
  scn_def "$name" || return 1
  local -x E2E_ENGINE=$SCN_ENGINE E2E_NETWORK=$SCN_NETWORK
  case $SCN_WAIT in
    boot) e2e_wait_booted "$node" "$timeout" ;;
    exit)
      for ((i = 0; i < timeout * 10; i++)); do
        _scn_running "$node" || return 0
        sleep 0.1
      done
      e2e_log "$node still runs after ${timeout}s"
      return 1 ;;
    init) _scn_wait_inits "$node" 1 "$timeout" ;;
    restart) _scn_wait_inits "$node" 1 "$timeout" && _scn_restart "$node" "$timeout" ;;
  esac
}

# scn_state NAME IMPL: the normalized state of the scenario's node.
scn_state() {
  scn_def "$1" || return 1
  E2E_ENGINE=$SCN_ENGINE E2E_NETWORK=$SCN_NETWORK bash "$E2E_DIR/state.sh" "$(scn_node "$1" "$2")"
}

# scn_rm NAME...: removes the scenarios' nodes, both implementations.
scn_rm() {
  local name
  for name in "$@"; do
    scn_def "$name" || return 1
    E2E_ENGINE=$SCN_ENGINE e2e_rm "$(scn_node "$name" port)" "$(scn_node "$name" orig)"
  done
}

# scn_comparable NAME IMPL: filters a normalized state on stdin down to what the port and the
# original must have in common. Only one documented difference is taken out (SCN_PORT_DIFF):
#   error-line: the port ends a failure with one `ERROR: <step>: <what failed>` line
#     (docs/failure-modes.md) where the original leaves it to the failing program's stderr.
#   other-backend: legacy was selected but Docker wrote its DNS rules with iptables-nft; the port
#     rewrites them there (kind's bash leaves them, and DNS breaks), so the iptables-nft-save
#     section is compared by the test itself, not here.
#   own-messages: the programs kind's script runs print their own complaints (mount's, mkdir's,
#     grep's about an unreadable /proc/self/attr/current); the port makes those calls itself and
#     says what failed in its one ERROR line (docs/differences.md, rows 1 and 23). Only the INFO and
#     WARN lines of the log, and how the node ended, are compared.
#   tie-nft: no rule in either backend; the port picks nft where kind's bash picks legacy
#     (docs/differences.md, row 31), so the port's mode (log line and iptables alternative) reads as legacy here
#     and the test checks it was nft.
scn_comparable() {
  local name=$1 impl=$2
  scn_def "$name" || return 1
  case $SCN_PORT_DIFF:$impl in
    error-line:port) grep -v '^ERROR: ' ;;
    other-backend:*) awk '/^### / { skip = ($0 == "### iptables-nft-save") } !skip' ;;
    own-messages:*) awk '/^### / { section = $0 } section != "### log" || /^(### |INFO: |WARN: )/' ;;
    tie-nft:port)
      sed -e 's/^INFO: setting iptables to detected mode: nft$/INFO: setting iptables to detected mode: legacy/' \
        -e 's|^/usr/sbin/iptables-nft$|/usr/sbin/iptables-legacy|' ;;
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
    section == "### log" && NF { last = $0 }
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
      if (exit_status != "") {
        printf "exit %s%s", exit_status, (error != "" ? ": " error : (last != "" ? ", last: " last : ""))
        exit
      }
      printf "%s, %s, ns %s, %s mounts", (init ? "init" : "no init"), mode, ns, mounts
      if (search != "") printf ", %s", search
      if (snap != "") printf ", %s", snap
      if (proxy != "") printf ", %s", proxy
      if (dmi != "") printf ", %s", dmi
      if (unit != "") printf ", %s", unit
    }'
}

# True when kind's script is there to run beside the port.
scn_have_original() { [[ -n ${KIND_ORIGINAL_ENTRYPOINT:-} ]]; }

# _scn_console_race NAME IMPL: systemd resets its console as it starts and flushes what the pty
# has not yet handed on to the engine's log reader (tcflush(TCIOFLUSH) in reset_terminal_fd).
# The kernel hands written bytes on from a work queue, so on a loaded machine the last lines the
# entrypoint wrote before exec can still be waiting there and be lost (kind's script is exposed
# the same way). A node whose log shows systemd's welcome but not the entrypoint's `starting init`
# met that race, not a fault of the entrypoint: it is started once more, and the results table
# says so. Prints the note for the table (empty when nothing was done).
_scn_console_race() {
  local name=$1 impl=$2 node image log
  node="$(scn_node "$name" "$impl")"
  scn_def "$name" || return 1
  [[ ${SCN_CMD[0]:-} == /sbin/init ]] || return 0
  local -x E2E_ENGINE=$SCN_ENGINE E2E_NETWORK=$SCN_NETWORK
  log="$(e2e_logs "$node")"
  grep -q '^INFO: starting init' <<<"$log" && return 0
  grep -q 'Welcome to ' <<<"$log" || return 0
  image="$(e2e_cli inspect -f '{{.Config.Image}}' "$node")" || return 1
  e2e_log "$node: systemd's console reset discarded the entrypoint's last lines; starting it once more"
  scn_start "$name" "$impl" "$image" >&2 && scn_wait "$name" "$impl" >&2 || return 1
  echo " (booted twice: systemd's console reset ate the first boot's last lines)"
}

# scn_check FILE NAME: the port's state equals the original's (live, or its golden), and the
# golden equals the live original's. Records FILE's row of the results table either way.
scn_check() {
  local file=$1 name=$2 golden port_state orig_state orig_cell port_cell against
  local stale=0 differs=0
  golden="$(scn_golden "$name")"
  [[ -f $golden ]] || scn_have_original || {
    echo "no golden $golden and no original to compare with"
    return 1
  }
  scn_wait "$name" port
  local port_race orig_race=''
  port_race="$(_scn_console_race "$name" port)" || return 1
  port_state="$(scn_state "$name" port)"
  if scn_have_original; then
    scn_wait "$name" orig
    orig_race="$(_scn_console_race "$name" orig)" || return 1
    orig_state="$(scn_state "$name" orig)"
    if ! diff -u --label "golden/$name.txt" --label "live original" "$golden" - <<<"$orig_state"; then
      stale=1
      echo "the golden is stale: bash test/e2e/scenarios.sh --golden $name"
    fi
    orig_cell="$(scn_summary <<<"$orig_state")$( ((stale)) && echo ' (golden STALE)' || echo ' (= golden)')$orig_race"
    against=original
  else
    orig_state="$(<"$golden")"
    orig_cell="$(scn_summary <<<"$orig_state") (golden)"
    against=golden
  fi
  diff -u --label "$against" --label port <(scn_comparable "$name" orig <<<"$orig_state") \
    <(scn_comparable "$name" port <<<"$port_state") || differs=1
  port_cell="$(scn_summary <<<"$port_state")$( ((differs)) && echo " (DIFFERS from $against)" || echo " (= $against)")$port_race"
  scn_def "$name"
  e2e_result "$file" "$name: $SCN_NOTE" "$orig_cell" "$port_cell"
  ((stale == 0 && differs == 0))
}

# Regenerates the goldens from the original (see the header).
_scn_golden_main() {
  set -euo pipefail
  local -a names=()
  local arg image pimage='' name
  for arg in "$@"; do
    case $arg in
      --golden) ;;
      -*) e2e_log "unknown option $arg" && return 2 ;;
      *) names+=("$arg") ;;
    esac
  done
  ((${#names[@]})) || names=("${E2E_SCENARIOS[@]}" "${E2E_PODMAN_SCENARIOS[@]}")
  e2e_ensure_dockerd
  image="$(e2e_original_image)"
  e2e_network
  if [[ " ${names[*]}" == *" podman-"* ]]; then
    e2e_podman_ready
    pimage="$(e2e_podman_image "$image")"
  fi
  mkdir -p "$E2E_GOLDEN_DIR"
  for name in "${names[@]}"; do
    if [[ $name == podman-* ]]; then scn_start "$name" orig "$pimage"; else scn_start "$name" orig "$image" & fi
  done
  wait
  for name in "${names[@]}"; do
    scn_wait "$name" orig
    scn_state "$name" orig >"$(scn_golden "$name").tmp"
    mv "$(scn_golden "$name").tmp" "$(scn_golden "$name")"
    e2e_log "wrote ${E2E_GOLDEN_DIR#"$E2E_REPO/"}/$name.txt"
    scn_rm "$name"
  done
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  if [[ ${1:-} != --golden ]]; then
    echo "usage: KIND_ORIGINAL_ENTRYPOINT=PATH $0 --golden [SCENARIO...]" >&2
    exit 2
  fi
  _scn_golden_main "$@"
fi
