#!/usr/bin/env bash
# Runs one implementation of kind's network magic in a throwaway sandbox on the real kernel and
# prints the resulting machine state as one normalized text blob (sections headed "## ...").
#
#   test/kernel/sandbox.sh original|port SCENARIO BACKEND
#
# original: functions extracted at run time from "$KIND_ORIGINAL_ENTRYPOINT" (never committed).
# port:     "$DENO" run -A dist/entrypoint.js with KIND_ENTRYPOINT_STEPS=network_magic.
# none:     nothing runs (controls).
# SCENARIO: a file test/kernel/scenarios/SCENARIO.sh (see test/kernel/README.md).
# BACKEND:  nft | legacy: what iptables-save/iptables-restore on PATH point to.
# SANDBOX_TIMING=1 prints how long each run of the implementation took, on stderr.
#
# The sandbox is new net, mount and UTS namespaces; the root is an overlay of / (so writes to /etc,
# /kind, ... never reach the machine), the repository is bind-mounted read-only, and the gateway is
# a veth peer in a second, anonymous netns held by a `sleep` process. Needs root.
set -o errexit -o nounset -o pipefail

KERNEL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "${KERNEL_DIR}/../.." && pwd)"
STEPS_FUNCTIONS=(log_info log_warn log_error regex_escape_ip fix_certificate enable_network_magic)

die() {
  echo "sandbox: $*" >&2
  exit 2
}

# shellcheck source=test/kernel/sandbox_common.sh
source "${KERNEL_DIR}/sandbox_common.sh"

# ---------------------------------------------------------------------------------------------
# phase 1 (caller's namespaces): validate, then re-enter in new namespaces
main() {
  [[ $# -eq 3 ]] || die "usage: sandbox.sh original|port|none SCENARIO BACKEND"
  local impl=$1 scenario=$2 backend=$3
  [[ "$(id -u)" == 0 ]] || die "needs root (network namespaces, mounts, iptables)"
  [[ -f "${KERNEL_DIR}/scenarios/${scenario}.sh" ]] || die "no scenario ${scenario}"
  case "$backend" in nft | legacy) ;; *) die "backend must be nft or legacy, got ${backend}" ;; esac
  case "$impl" in
    original)
      [[ -n "${KIND_ORIGINAL_ENTRYPOINT:-}" ]] || die "KIND_ORIGINAL_ENTRYPOINT is not set"
      [[ -r "$KIND_ORIGINAL_ENTRYPOINT" ]] || die "cannot read ${KIND_ORIGINAL_ENTRYPOINT}"
      ;;
    port) [[ -f "${REPO}/dist/entrypoint.js" ]] || die "no ${REPO}/dist/entrypoint.js (npm run build)" ;;
    none) ;;
    *) die "implementation must be original, port or none, got ${impl}" ;;
  esac
  local stage
  stage="$(mktemp -d /tmp/kind-sandbox.XXXXXX)"
  local rc=0
  unshare --net --mount --uts --propagation private --fork -- \
    bash "${KERNEL_DIR}/sandbox.sh" __enter "$impl" "$scenario" "$backend" "$stage" || rc=$?
  rmdir "$stage" 2>/dev/null || true
  return "$rc"
}

# ---------------------------------------------------------------------------------------------
# phase 2 (new namespaces, machine's filesystem): build the overlay root and chroot into it
enter() {
  local impl=$1 scenario=$2 backend=$3 stage=$4
  make_overlay_root "$stage" kind-sandbox
  local root=$SANDBOX_ROOT sbx="${SANDBOX_ROOT}/sbx"
  if [[ "$impl" == original ]]; then
    extract_functions "$KIND_ORIGINAL_ENTRYPOINT" "${STEPS_FUNCTIONS[@]}" >"${sbx}/original.sh"
  fi
  exec chroot "$root" /bin/bash "${KERNEL_DIR}/sandbox.sh" __inside "$impl" "$scenario" "$backend"
}

# ---------------------------------------------------------------------------------------------
# phase 3 (inside the chroot): network, files, run, collect

GW_PID=""
SCENARIO_PIDS=()
cleanup_inside() {
  if [[ -n "$GW_PID" ]]; then kill "$GW_PID" 2>/dev/null || true; fi
  if [[ ${#SCENARIO_PIDS[@]} -gt 0 ]]; then kill "${SCENARIO_PIDS[@]}" 2>/dev/null || true; fi
}

# add_uplink IFACE ADDR/LEN GW_ADDR/LEN: a veth whose peer (the gateway) lives in the gw netns.
add_uplink() {
  local ifname=$1 addr=$2 gw=$3 peer="gw${1#eth}"
  ip link add "$ifname" type veth peer name "$peer" netns "$GW_PID"
  ip addr add "$addr" dev "$ifname"
  ip link set "$ifname" up
  nsenter -t "$GW_PID" -n ip addr add "$gw" dev "$peer"
  nsenter -t "$GW_PID" -n ip link set "$peer" up
}

setup_network() {
  ip link set lo up
  GW_PID="$(new_netns_holder)"
  nsenter -t "$GW_PID" -n ip link set lo up
  add_uplink eth0 172.30.0.2/24 172.30.0.1/24
  if [[ -n "$SCN_NODE_IPV6" ]]; then
    ip addr add "${SCN_NODE_IPV6}/64" dev eth0 nodad
  fi
  case "$SCN_ROUTES" in
    default) ip route add default via 172.30.0.1 dev eth0 ;;
    none) ;;
    two)
      add_uplink eth1 172.31.0.2/24 172.31.0.1/24
      ip route add default via 172.30.0.1 dev eth0 metric 100
      ip route add default via 172.31.0.1 dev eth1 metric 200
      ;;
    *) die "unknown SCN_ROUTES ${SCN_ROUTES}" ;;
  esac
}

# The node's files, bind-mounted as Docker does, so an implementation that replaces them by rename
# fails here as it would in a node container.
setup_files() {
  local backend=$1 fixtures="${REPO}/test/testdata" t
  set_node_identity "$SCN_HOSTS"
  rm -f /etc/resolv.conf && : >/etc/resolv.conf
  bind_file "${fixtures}/resolv/${SCN_RESOLV}" /etc/resolv.conf

  local dir
  for dir in /kind /etc/kubernetes /var/lib/kubelet; do
    mkdir -p "$dir" "/sbx/mounts${dir}"
    mount --bind "/sbx/mounts${dir}" "$dir"
  done
  if [[ "$SCN_MANIFESTS" == 1 ]]; then
    cp -a "${KERNEL_DIR}/fixtures/control-plane/." /
  fi
  if [[ -n "$SCN_OLD_IPV4" ]]; then printf '%s' "$SCN_OLD_IPV4" >/kind/old-ipv4; fi
  if [[ -n "$SCN_OLD_IPV6" ]]; then printf '%s' "$SCN_OLD_IPV6" >/kind/old-ipv6; fi
  if [[ "$SCN_CERTS" == 1 ]]; then
    mkdir -p /etc/kubernetes/pki
    printf 'planted certificate\n' >/etc/kubernetes/pki/apiserver.crt
    printf 'planted key\n' >/etc/kubernetes/pki/apiserver.key
  fi

  for t in iptables ip6tables; do
    ln -s "/usr/sbin/${t}-${backend}" "/sbx/bin/${t}"
    ln -s "/usr/sbin/${t}-${backend}-save" "/sbx/bin/${t}-save"
    ln -s "/usr/sbin/${t}-${backend}-restore" "/sbx/bin/${t}-restore"
  done
  cp "${KERNEL_DIR}/fake-kubeadm" /sbx/bin/kubeadm

  if [[ -n "$SCN_RULES" ]]; then
    "/sbx/bin/iptables-restore" <"${fixtures}/iptables/${SCN_RULES}"
  fi
  if [[ -n "$SCN_NFT" ]]; then
    nft -f "${fixtures}/iptables/${SCN_NFT}"
  fi
}

run_impl() {
  local impl=$1 n=$2 rc=0 start=$EPOCHREALTIME
  local -a env=(
    PATH=/sbx/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    HOME=/root container=docker
  )
  if [[ -v SCN_KIND_DNS_SEARCH ]]; then env+=("KIND_DNS_SEARCH=${SCN_KIND_DNS_SEARCH}"); fi
  cd /
  case "$impl" in
    original)
      env -i "${env[@]}" timeout 60 bash -c \
        'set -o errexit -o nounset -o pipefail; source /sbx/original.sh; enable_network_magic' \
        </dev/null >"/sbx/stdout.${n}" 2>"/sbx/stderr.${n}" || rc=$?
      ;;
    port)
      env -i "${env[@]}" KIND_ENTRYPOINT_STEPS=network_magic NO_COLOR=1 DENO_NO_UPDATE_CHECK=1 \
        DENO_DIR=/sbx/deno-dir timeout 60 "$DENO" run -A "${REPO}/dist/entrypoint.js" \
        </dev/null >"/sbx/stdout.${n}" 2>"/sbx/stderr.${n}" || rc=$?
      # contract: after its steps the port logs the original's last line and execs the command
      if [[ "$(tail -n 1 "/sbx/stderr.${n}")" == "INFO: starting init" ]]; then
        sed -i '$d' "/sbx/stderr.${n}"
      fi
      ;;
    none) : >"/sbx/stdout.${n}" && : >"/sbx/stderr.${n}" ;;
  esac
  echo "$rc" >"/sbx/rc.${n}"
  if [[ -n "${SANDBOX_TIMING:-}" ]]; then
    # on stderr, not in the blob: durations differ from run to run
    echo "sandbox: ${impl} run ${n} took $(((${EPOCHREALTIME/./} - ${start/./}) / 1000)) ms" >&2
  fi
}

section() { printf '\n## %s\n' "$1"; }

# show_file FILE: contents, with explicit markers for absent, empty and unterminated files.
show_file() {
  if [[ ! -e "$1" ]]; then
    echo "(absent)"
  elif [[ ! -s "$1" ]]; then
    echo "(empty)"
  else
    cat "$1"
    if [[ -n "$(tail -c 1 "$1")" ]]; then printf '\n(no newline at end of file)\n'; fi
  fi
}

# normalize_iptables drops lines that carry dates or depend on the machine, and zeroes counters.
normalize_iptables() {
  sed -E -e '/^# (Generated by|Completed on|Warning:)/d' -e 's/\[[0-9]+:[0-9]+\]/[0:0]/g'
}

collect() {
  local backend=$1 n=$2 other f
  [[ "$backend" == nft ]] && other=legacy || other=nft
  [[ "$n" == 1 ]] || section "run ${n}"
  section "exit status"
  cat "/sbx/rc.${n}"
  section "stdout"
  show_file "/sbx/stdout.${n}"
  section "stderr"
  if [[ -s "/sbx/stderr.${n}" ]]; then normalize_iptables <"/sbx/stderr.${n}"; else echo "(empty)"; fi
  # list the tables first: on legacy, `iptables-save -t filter` instantiates the filter table
  section "iptables-save: tables"
  /sbx/bin/iptables-save | grep '^\*' || echo "(none)"
  section "iptables-save -t nat"
  /sbx/bin/iptables-save -t nat | normalize_iptables
  section "iptables-save -t filter"
  /sbx/bin/iptables-save -t filter | normalize_iptables
  section "ip6tables-save: rules"
  /sbx/bin/ip6tables-save | grep -c '^-A' || true
  section "iptables-${other}-save: rules"
  "/usr/sbin/iptables-${other}-save" 2>/dev/null | grep -c '^-A' || true
  section "nft tables not managed by iptables"
  local family name native=0
  while read -r family name; do
    case "$name" in
      nat | filter | mangle | raw | security) ;;
      *)
        native=1
        nft list table "$family" "$name" | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/'
        ;;
    esac
  done < <(nft list tables | sed 's/^table //')
  [[ "$native" == 1 ]] || echo "(none)"
  for f in /etc/resolv.conf /etc/resolv.conf.original /kind/old-ipv4 /kind/old-ipv6; do
    section "$f"
    show_file "$f"
  done
  section "kubeadm calls"
  show_file /sbx/kubeadm.log
  section "files under /etc/kubernetes /kind /var/lib/kubelet"
  find /etc/kubernetes /kind /var/lib/kubelet -type f | LC_ALL=C sort
  if [[ "$SCN_MANIFESTS" == 1 ]]; then
    while IFS= read -r f; do
      section "$f"
      show_file "$f"
    done < <(cd "${KERNEL_DIR}/fixtures/control-plane" && find . -type f | sed 's#^\.##' | LC_ALL=C sort)
  fi
}

# setup_pod: a pod netns behind a veth (10.244.0.2/24 via the node's 10.244.0.1), pod egress
# masqueraded, and a DNS responder on 127.0.0.11 at the ports of Docker's rules in the fixture.
POD_PID=""
setup_pod() {
  sysctl -q -w net.ipv4.ip_forward=1 "net.ipv4.conf.all.route_localnet=${SCN_POD_ROUTE_LOCALNET}"
  POD_PID="$(new_netns_holder)"
  SCENARIO_PIDS+=("$POD_PID")
  ip link add veth-pod type veth peer name eth0 netns "$POD_PID"
  ip addr add 10.244.0.1/24 dev veth-pod
  ip link set veth-pod up
  nsenter -t "$POD_PID" -n sh -e -c 'ip link set lo up; ip addr add 10.244.0.2/24 dev eth0;
    ip link set eth0 up; ip route add default via 10.244.0.1'
  /sbx/bin/iptables -t nat -A POSTROUTING -s 10.244.0.0/24 ! -d 10.244.0.0/24 -j MASQUERADE
  python3 "${KERNEL_DIR}/dns_responder.py" 127.0.0.11 45927 37619 pod-dns.example 192.0.2.53 /sbx/dns.ready \
    </dev/null >/sbx/dns.log 2>&1 &
  SCENARIO_PIDS+=("$!")
  # at most 30 s: a bound on a loaded machine's speed is a failure, not a wait
  for _ in $(seq 1 3000); do
    [[ -e /sbx/dns.ready ]] && return 0
    sleep 0.01
  done
  cat /sbx/dns.log >&2
  die "DNS responder did not start"
}

# pod_checks: what the pod gets from the DNS server it would be given, over UDP and TCP.
pod_checks() {
  local proto flag
  for proto in udp tcp; do
    [[ "$proto" == tcp ]] && flag=+tcp || flag=+notcp
    section "pod: dig ${flag} @${SCN_POD_DNS_SERVER} pod-dns.example A"
    # 5 s, as the node's getent below: a responder on a loaded machine may take more than a second
    nsenter -t "$POD_PID" -n dig +short +time=5 +tries=1 "$flag" "@${SCN_POD_DNS_SERVER}" \
      pod-dns.example A 2>&1 || echo "(dig exit status $?)"
  done
  # the node's own lookups go through the rewritten /etc/resolv.conf and the OUTPUT chain
  section "node: getent ahostsv4 pod-dns.example"
  { timeout 5 getent ahostsv4 pod-dns.example || echo "(getent exit status $?)"; } | head -n 1
}

inside() {
  local impl=$1 scenario=$2 backend=$3 n
  DENO="${DENO:-${REPO}/node_modules/.bin/deno}"
  # defaults; a scenario overrides what it needs
  SCN_RULES=docker.rules SCN_NFT="" SCN_RESOLV=docker.conf SCN_ROUTES=default SCN_NODE_IPV6=""
  SCN_HOSTS="$(printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n172.30.0.2\tkind-control-plane\n')"$'\n'
  SCN_MANIFESTS=0 SCN_CERTS=0 SCN_OLD_IPV4="" SCN_OLD_IPV6="" SCN_RUNS=1
  SCN_POD=0 SCN_POD_DNS_SERVER=172.30.0.1 SCN_POD_ROUTE_LOCALNET=1
  unset SCN_KIND_DNS_SEARCH
  scenario_before() { :; }
  scenario_after() { :; }
  # shellcheck source=/dev/null
  source "${KERNEL_DIR}/scenarios/${scenario}.sh"
  trap cleanup_inside EXIT

  setup_network
  setup_files "$backend"
  if [[ "$SCN_POD" == 1 ]]; then setup_pod; fi
  scenario_before
  printf '# scenario %s, iptables backend %s\n' "$scenario" "$backend"
  for n in $(seq 1 "$SCN_RUNS"); do
    run_impl "$impl" "$n"
    collect "$backend" "$n"
  done
  if [[ "$SCN_POD" == 1 ]]; then pod_checks; fi
  scenario_after
}

case "${1:-}" in
  __enter) shift && enter "$@" ;;
  __inside) shift && inside "$@" ;;
  *) main "$@" ;;
esac
