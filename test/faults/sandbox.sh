#!/usr/bin/env bash
# Runs the whole entrypoint (every step, or those a scenario selects) of one implementation in a
# throwaway node-like sandbox on the real kernel, with one fault planted, and prints what happened
# as one text blob (sections headed "## ...").
#
#   test/faults/sandbox.sh original|port SCENARIO
#
# original: "$KIND_ORIGINAL_ENTRYPOINT" cut before its first step call (so its prelude and
#           functions are kind's own text, read at run time and never committed); the selected
#           functions are then called in kind's order and `exec "$@"` follows, as in kind.
# port:     "$DENO" run -A dist/entrypoint.js, with KIND_ENTRYPOINT_STEPS when a scenario selects.
# Both exec /sbx/init (it records that it ran). A run still going after FLT_HANG_AFTER seconds
# (default 6) is killed with its process group and reported as `hung`.
#
# The sandbox: new PID, net, mount and UTS namespaces (everything left running dies with it); the
# root is an overlay of / on a tmpfs, so nothing reaches the machine; fresh /proc, /sys, /run,
# /tmp; a cgroup v2 look-alike (a tmpfs with cgroup.controllers) on /sys/fs/cgroup; eth0
# 172.30.0.2/24 with its gateway in a second netns; Docker's DNS rules loaded on the nft backend;
# /etc/hosts, /etc/resolv.conf, /etc/hostname bind mounts as Docker makes them; a node image's
# /kind, /etc/containerd/config.toml, empty /etc/machine-id. `iptables*` resolve through
# /etc/alternatives as on a node, so select_iptables' choice is what network magic then uses.
# Scenario files are described in test/faults/README.md. Needs root.
set -o errexit -o nounset -o pipefail

FAULTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "${FAULTS_DIR}/../.." && pwd)"
KERNEL_DIR="${REPO}/test/kernel"

die() {
  echo "fault-sandbox: $*" >&2
  exit 2
}

# shellcheck source=test/kernel/sandbox_common.sh
source "${KERNEL_DIR}/sandbox_common.sh"

# ---------------------------------------------------------------------------------------------
# phase 1 (caller's namespaces)
main() {
  [[ $# -eq 2 ]] || die "usage: sandbox.sh original|port SCENARIO"
  local impl=$1 scenario=$2
  [[ "$(id -u)" == 0 ]] || die "needs root (namespaces, mounts, iptables)"
  [[ -f "${FAULTS_DIR}/scenarios/${scenario}.sh" ]] || die "no scenario ${scenario}"
  case "$impl" in
    original)
      [[ -n "${KIND_ORIGINAL_ENTRYPOINT:-}" ]] || die "KIND_ORIGINAL_ENTRYPOINT is not set"
      [[ -r "$KIND_ORIGINAL_ENTRYPOINT" ]] || die "cannot read ${KIND_ORIGINAL_ENTRYPOINT}"
      ;;
    port) [[ -f "${REPO}/dist/entrypoint.js" ]] || die "no ${REPO}/dist/entrypoint.js (npm run build)" ;;
    *) die "implementation must be original or port, got ${impl}" ;;
  esac
  local stage rc=0
  stage="$(mktemp -d /tmp/kind-faults.XXXXXX)"
  unshare --pid --net --mount --uts --propagation private --fork -- \
    bash "${FAULTS_DIR}/sandbox.sh" __enter "$impl" "$scenario" "$stage" || rc=$?
  rmdir "$stage" 2>/dev/null || true
  return "$rc"
}

# ---------------------------------------------------------------------------------------------
# phase 2 (new namespaces, the machine's filesystem): the overlay root
enter() {
  local impl=$1 scenario=$2 stage=$3
  make_overlay_root "$stage" kind-faults
  local root=$SANDBOX_ROOT
  mount -t tmpfs -o mode=0755 cgroup-v2-lookalike "${root}/sys/fs/cgroup"
  printf 'cpuset cpu io memory hugetlb pids rdma misc\n' >"${root}/sys/fs/cgroup/cgroup.controllers"
  mkdir -p "${root}/sbx/wrap" "${root}/sbx/state"
  if [[ "$impl" == original ]]; then
    # kind's script up to (not including) its first step call: prelude, helpers, functions.
    awk '/^validate_userns$/ { exit } { print }' "$KIND_ORIGINAL_ENTRYPOINT" >"${root}/sbx/original-head.sh"
    grep -q '^enable_network_magic()' "${root}/sbx/original-head.sh" ||
      die "cannot find kind's functions in ${KIND_ORIGINAL_ENTRYPOINT}"
  fi
  exec chroot "$root" /bin/bash "${FAULTS_DIR}/sandbox.sh" __inside "$impl" "$scenario"
}

# ---------------------------------------------------------------------------------------------
# phase 3 (inside the chroot; PID 1 of the sandbox)

# shellcheck source=test/faults/lib.sh
source "${FAULTS_DIR}/lib.sh"

setup_network() {
  local gw
  ip link set lo up
  gw="$(new_netns_holder)"
  nsenter -t "$gw" -n ip link set lo up
  ip link add eth0 type veth peer name gw0 netns "$gw"
  ip addr add 172.30.0.2/24 dev eth0
  ip link set eth0 up
  nsenter -t "$gw" -n ip addr add 172.30.0.1/24 dev gw0
  nsenter -t "$gw" -n ip link set gw0 up
  ip route add default via 172.30.0.1 dev eth0
}

setup_node() {
  set_node_identity "$FLT_HOSTS"
  rm -f /etc/resolv.conf
  bind_file "${FAULTS_DIR}/fixtures/${FLT_RESOLV}" /etc/resolv.conf

  mkdir -p /kind /etc/kubernetes/manifests /var/lib/kubelet /etc/containerd
  rm -rf /etc/systemd/system.conf.d
  cp "${REPO}/test/testdata/containerd/config.toml" /etc/containerd/config.toml
  rm -f /etc/machine-id && : >/etc/machine-id
  if [[ "$FLT_CONTROL_PLANE" == 1 ]]; then
    cp -a "${KERNEL_DIR}/fixtures/control-plane/." /
    mkdir -p /etc/kubernetes/pki
    printf -- '-----BEGIN CERTIFICATE-----\nplanted apiserver certificate\n-----END CERTIFICATE-----\n' \
      >/etc/kubernetes/pki/apiserver.crt
    printf -- '-----BEGIN PRIVATE KEY-----\nplanted apiserver key\n-----END PRIVATE KEY-----\n' \
      >/etc/kubernetes/pki/apiserver.key
    chmod 600 /etc/kubernetes/pki/apiserver.key
  fi
  if [[ -n "$FLT_OLD_IPV4" ]]; then printf '%s' "$FLT_OLD_IPV4" >/kind/old-ipv4; fi

  # iptables through the alternatives, pointed at nft (Docker's rules live there)
  update-alternatives --quiet --set iptables /usr/sbin/iptables-nft >/dev/null
  update-alternatives --quiet --set ip6tables /usr/sbin/ip6tables-nft >/dev/null
  /usr/sbin/xtables-nft-multi iptables-restore <"${REPO}/test/testdata/iptables/${FLT_RULES}"
  cp "${FAULTS_DIR}/fake-kubeadm" /sbx/bin/kubeadm
  # the harness's own nft, for the state snapshots: a scenario may hide the node's
  mkdir -p /sbx/tools && cp "$(command -v nft)" /sbx/tools/nft
  printf '#!/bin/sh\necho "init ran: $*" >/sbx/state/init.ran\n' >/sbx/init
  chmod +x /sbx/init
}

# ---------------------------------------------------------------------------------------------
# state before and after a run

# The files whose fate is reported: what the steps write and what must survive them.
WATCHED=(
  /etc/resolv.conf /etc/resolv.conf.original /etc/containerd/config.toml
  /etc/systemd/system.conf.d/proxy-default-environment.conf /etc/machine-id
  /kind/old-ipv4 /kind/old-ipv6 /kind/product_uuid /kind/kubeadm.conf
  /etc/kubernetes/manifests/etcd.yaml /etc/kubernetes/manifests/kube-apiserver.yaml
  /etc/kubernetes/manifests/kube-controller-manager.yaml
  /etc/kubernetes/manifests/kube-scheduler.yaml /etc/kubernetes/controller-manager.conf
  /etc/kubernetes/scheduler.conf /etc/kubernetes/kubelet.conf
  /var/lib/kubelet/kubeadm-flags.env /etc/kubernetes/pki/apiserver.crt
  /etc/kubernetes/pki/apiserver.key
)

# file_state FILE: one word for what a path is, and a digest of its bytes.
file_state() {
  if [[ -L "$1" && ! -e "$1" ]]; then
    echo "dangling-symlink"
  elif [[ -d "$1" ]]; then
    echo "directory"
  elif [[ ! -e "$1" ]]; then
    echo "absent"
  elif [[ ! -r "$1" ]] || ! cat "$1" >/dev/null 2>&1; then
    echo "unreadable"
  elif [[ ! -s "$1" ]]; then
    echo "empty"
  else
    echo "$(stat -c %s "$1") bytes sha256:$(sha256sum <"$1" | cut -c1-16)$(
      [[ -z "$(tail -c 1 "$1")" ]] || echo " no-final-newline"
    )"
  fi
}

# nat_rules: both backends' nat tables and Docker's nftables DNS table, counters and dates dropped.
nat_rules() {
  local backend
  for backend in nft legacy; do
    echo "# ${backend}"
    "/usr/sbin/xtables-${backend}-multi" iptables-save -t nat 2>/dev/null |
      sed -E -e '/^# (Generated by|Completed on|Warning:)/d' -e 's/\[[0-9]+:[0-9]+\]/[0:0]/g'
  done
  echo "# nft table ip docker-dns"
  /sbx/tools/nft list table ip docker-dns 2>/dev/null |
    sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/' || true
}

snapshot() {
  local dir=$1 f
  mkdir -p "$dir"
  for f in "${WATCHED[@]}"; do printf '%s %s\n' "$f" "$(file_state "$f")"; done >"${dir}/files"
  nat_rules >"${dir}/rules"
  cp -a /etc/resolv.conf "${dir}/resolv.conf" 2>/dev/null || true
}

# damage BEFORE AFTER: files that existed with content before and are now gone, empty or cut
# short (a half-written file has no final newline, or lost its nameserver lines).
damage() {
  local f before after expected_removed
  for f in "${WATCHED[@]}"; do
    before="$(grep -F "${f} " "$1/files" | cut -d' ' -f2-)"
    after="$(grep -F "${f} " "$2/files" | cut -d' ' -f2-)"
    expected_removed=0
    # the image's machine-id is replaced by design; an empty one is not a loss
    [[ "$f" == /etc/machine-id && "$before" == empty ]] && expected_removed=1
    case "$before" in absent | empty | directory | dangling-symlink | unreadable) continue ;; esac
    # a rewrite never halves a file; a write cut short does
    if [[ "$before" =~ ^([0-9]+)\ bytes && "$after" =~ ^([0-9]+)\ bytes ]] &&
      ((${before%% *} > 4096 && ${after%% *} * 2 < ${before%% *})); then
      echo "truncated ${f} (${after%% *} of ${before%% *} bytes)"
      continue
    fi
    case "$after" in
      absent | empty) [[ $expected_removed == 1 ]] || echo "lost ${f} (${after})" ;;
      *no-final-newline*)
        # /kind/old-ipv4 and old-ipv6 are written without a newline by design
        [[ "$before" == *no-final-newline* || "$f" == /kind/old-ipv* ]] || echo "truncated ${f} (${after})"
        ;;
    esac
  done
  if grep -q '^nameserver' "$1/resolv.conf" 2>/dev/null && [[ -e /etc/resolv.conf ]] &&
    ! grep -q '^nameserver' /etc/resolv.conf 2>/dev/null; then
    echo "truncated /etc/resolv.conf (no nameserver line left)"
  fi
  find /etc /kind /var/lib/kubelet -xdev -name '*.kind-entrypoint.tmp' 2>/dev/null | sed 's/^/leftover /' || true
}

# ---------------------------------------------------------------------------------------------
# the run

impl_command() {
  local impl=$1
  local -a env=(
    PATH=/sbx/wrap:/sbx/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    HOME=/root container=docker
  )
  env+=("${FLT_ENV[@]}")
  case "$impl" in
    original)
      printf '%s\n' 'set -o errexit -o nounset -o pipefail' 'source /sbx/original-head.sh' \
        "$FLT_STEPS_ORIGINAL" "log_info 'starting init'" 'exec "$@"' >/sbx/original-run.sh
      CMD=(env -i "${env[@]}" bash /sbx/original-run.sh /sbx/init)
      ;;
    port)
      [[ -z "$FLT_STEPS" ]] || env+=("KIND_ENTRYPOINT_STEPS=${FLT_STEPS}")
      [[ -z "$FLT_COMMAND_TIMEOUT_MS" ]] || env+=("KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS=${FLT_COMMAND_TIMEOUT_MS}")
      CMD=(env -i "${env[@]}" NO_COLOR=1 DENO_NO_UPDATE_CHECK=1 DENO_DIR=/sbx/deno-dir
        "$DENO" run -A "${REPO}/dist/entrypoint.js" /sbx/init)
      ;;
  esac
}

# pid1_of: the PID (here) of the implementation that pid1.py started as PID 1 of its namespace.
pid1_of() {
  for _ in $(seq 1 500); do
    if [[ -s /sbx/state/pid1 ]]; then
      cat /sbx/state/pid1
      return 0
    fi
    sleep 0.01
  done
  die "pid1.py did not start the implementation"
}

run_impl() {
  local impl=$1 start=$EPOCHREALTIME pid rc deadline hung=0
  impl_command "$impl"
  cd /
  # its own session and process group, so a hung run is killed with everything it started
  # FLT_PID1=1: the implementation is PID 1 of a PID namespace of its own, as in a node, where the
  # kernel drops every signal it has no handler for (docker stop and docker kill send from outside)
  if ((FLT_PID1)); then CMD=(python3 "${FAULTS_DIR}/pid1.py" /sbx/state/pid1 "${CMD[@]}"); fi
  # fault_armed's watcher is in place before the implementation starts (or has given up)
  rm -f /sbx/state/pid /sbx/state/armed
  local armed
  fault_armed &
  armed=$!
  while [[ ! -e /sbx/state/armed ]] && kill -0 "$armed" 2>/dev/null; do sleep 0.01; done
  setsid "${CMD[@]}" </dev/null >/sbx/state/stdout 2>/sbx/state/stderr &
  pid=$!
  local target=$pid
  if ((FLT_PID1)); then target="$(pid1_of)"; fi
  echo "$target" >/sbx/state/pid
  fault_during "$target"
  deadline=$((${start/./} + FLT_HANG_AFTER * 1000000))
  # alive and not yet a zombie (this shell, PID 1 here, reaps it in `wait`)
  while [[ -e "/proc/${pid}" && "$(cut -d' ' -f3 "/proc/${pid}/stat" 2>/dev/null)" != Z ]]; do
    if ((${EPOCHREALTIME/./} >= deadline)); then
      kill -KILL -- "-${pid}" 2>/dev/null || true
      hung=1
      break
    fi
    sleep 0.02
  done
  rc=0
  wait "$pid" 2>/dev/null || rc=$?
  wait "$armed" 2>/dev/null || true
  if ((hung)); then rc="hung (killed after ${FLT_HANG_AFTER} s)"; fi
  echo "$rc" >/sbx/state/rc
  echo $(((${EPOCHREALTIME/./} - ${start/./}) / 1000)) >/sbx/state/ms
}

section() { printf '\n## %s\n' "$1"; }

report() {
  local impl=$1
  printf '# fault scenario %s, implementation %s\n' "$FLT_NAME" "$impl"
  section "exit status"
  cat /sbx/state/rc
  section "duration ms"
  cat /sbx/state/ms
  section "init"
  if [[ -e /sbx/state/init.ran ]]; then echo "ran"; else echo "not run"; fi
  section "stderr"
  # shellcheck disable=SC1003 # sed's `$a\`: add a final newline where one is missing
  if [[ -s /sbx/state/stderr ]]; then sed -e '$a\' /sbx/state/stderr; else echo "(empty)"; fi
  section "stdout"
  # shellcheck disable=SC1003
  if [[ -s /sbx/state/stdout ]]; then sed -e '$a\' /sbx/state/stdout; else echo "(empty)"; fi
  section "files (before -> after)"
  local f b a
  for f in "${WATCHED[@]}"; do
    b="$(grep -F "${f} " /sbx/before/files | cut -d' ' -f2-)"
    a="$(grep -F "${f} " /sbx/after/files | cut -d' ' -f2-)"
    if [[ "$b" == "$a" ]]; then echo "${f}: unchanged (${a})"; else echo "${f}: ${b} -> ${a}"; fi
  done
  section "rules"
  if cmp -s /sbx/before/rules /sbx/after/rules; then echo "unchanged"; else
    echo "changed"
    diff /sbx/before/rules /sbx/after/rules | grep '^[<>]' || true
  fi
  section "damage"
  damage /sbx/before /sbx/after >/sbx/state/damage
  if [[ -s /sbx/state/damage ]]; then cat /sbx/state/damage; else echo "(none)"; fi
  section "resolv.conf after"
  if [[ -f /etc/resolv.conf ]]; then head -c 2000 /etc/resolv.conf | head -n 20; else file_state /etc/resolv.conf; fi
  section "kubeadm calls"
  if [[ -s /sbx/kubeadm.log ]]; then cat /sbx/kubeadm.log; else echo "(none)"; fi
  fault_report
}

inside() {
  local impl=$1 scenario=$2
  set -o errtrace
  trap 'echo "fault-sandbox: set-up failed: ${BASH_COMMAND}" >&2' ERR
  DENO="${DENO:-${REPO}/node_modules/.bin/deno}"
  FLT_NAME=$scenario
  load_scenario "${FAULTS_DIR}/scenarios/${scenario}.sh"
  setup_network
  setup_node
  fault_setup
  snapshot /sbx/before
  trap - ERR
  run_impl "$impl"
  snapshot /sbx/after
  report "$impl"
}

case "${1:-}" in
  __enter) shift && enter "$@" ;;
  __inside) shift && inside "$@" ;;
  *) main "$@" ;;
esac
