#!/usr/bin/env bash
# Pod DNS through Docker's embedded-DNS NAT on the real kernel, for Docker's nftables firewall
# backend (28.3+/29) and, as a control, its iptables backend. Prints one state blob ("## ..."
# sections) that test/kernel/nft_dns.bats asserts on.
#
#   test/kernel/nft_dns_sandbox.sh IMPL BACKEND [RUNS]
#
# IMPL:    original  enable_network_magic and helpers cut out of "$KIND_ORIGINAL_ENTRYPOINT"
#          driver    test/kernel/nft_dns_driver.ts from the sources (iptables + nftables rewrite)
#          bundle    dist/entrypoint.js with KIND_ENTRYPOINT_STEPS=network_magic
#          none      nothing (control)
# BACKEND: nftables  the node as Docker 29 `--firewall-backend=nftables` builds it: table ip
#                    docker-dns (dns-dnat, dns-snat), no iptables rules
#          iptables  Docker's DOCKER_OUTPUT/DOCKER_POSTROUTING rules, no nftables table
# RUNS:    how many times the implementation runs (default 1)
#
# Namespaces: the node is new net+mount+UTS namespaces whose root is an overlay of / on a tmpfs
# (writes to /etc, /kind never reach the machine). The host (172.30.0.1, the node's default
# gateway and host.docker.internal) and the pod (10.244.0.2 via the node's 10.244.0.1) are two
# more network namespaces held by `sleep`; nothing is routed beyond them. Docker's resolver is
# played by two dnsmasq processes on 127.0.0.11 in the node, one at the UDP port of the rules and
# one at the TCP port, so the query logs show which rule carried which query. Needs root.
set -o errexit -o nounset -o pipefail

KERNEL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "${KERNEL_DIR}/../.." && pwd)"
ORIGINAL_FUNCTIONS=(log_info log_warn log_error regex_escape_ip fix_certificate enable_network_magic)
UDP_PORT=45927
TCP_PORT=37619
NODE_IP=172.30.0.2
HOST_IP=172.30.0.1
OTHER_NODE_IP=172.30.0.3

die() {
  echo "nft_dns_sandbox: $*" >&2
  exit 2
}

# shellcheck source=test/kernel/sandbox_common.sh
source "${KERNEL_DIR}/sandbox_common.sh"

# phase 1: validate, re-enter in new namespaces
main() {
  [[ $# -ge 2 && $# -le 3 ]] || die "usage: nft_dns_sandbox.sh original|driver|bundle|none nftables|iptables [RUNS]"
  local impl=$1 backend=$2 runs=${3:-1}
  [[ "$(id -u)" == 0 ]] || die "needs root (network namespaces, mounts, nftables)"
  case "$backend" in nftables | iptables) ;; *) die "backend must be nftables or iptables" ;; esac
  case "$impl" in
    original)
      [[ -r "${KIND_ORIGINAL_ENTRYPOINT:-}" ]] || die "KIND_ORIGINAL_ENTRYPOINT is not a readable file"
      ;;
    bundle) [[ -f "${REPO}/dist/entrypoint.js" ]] || die "no dist/entrypoint.js (npm run build)" ;;
    driver | none) ;;
    *) die "implementation must be original, driver, bundle or none" ;;
  esac
  [[ "$runs" =~ ^[1-9]$ ]] || die "RUNS must be 1-9"
  local stage rc=0
  stage="$(mktemp -d /tmp/kind-nft-sandbox.XXXXXX)"
  unshare --net --mount --uts --propagation private --fork -- \
    bash "${KERNEL_DIR}/nft_dns_sandbox.sh" __enter "$impl" "$backend" "$runs" "$stage" || rc=$?
  rmdir "$stage" 2>/dev/null || true
  return "$rc"
}

# phase 2 (new namespaces): overlay root, chroot
enter() {
  local impl=$1 backend=$2 runs=$3 stage=$4 root
  make_overlay_root "$stage" kind-nft-sandbox
  root=$SANDBOX_ROOT
  if [[ "$impl" == original ]]; then
    extract_functions "$KIND_ORIGINAL_ENTRYPOINT" "${ORIGINAL_FUNCTIONS[@]}" >"${root}/sbx/original.sh"
  fi
  exec chroot "$root" /bin/bash "${KERNEL_DIR}/nft_dns_sandbox.sh" __inside "$impl" "$backend" "$runs"
}

# phase 3 (inside the chroot)
PIDS=""
cleanup() {
  # shellcheck disable=SC2086 # a list of pids
  if [[ -n "$PIDS" ]]; then kill $PIDS 2>/dev/null || true; fi
}

setup_network() {
  local host pod
  ip link set lo up
  host="$(new_netns_holder)"
  pod="$(new_netns_holder)"
  PIDS+=" ${host} ${pod}"
  POD_PID=$pod
  ip link add eth0 type veth peer name eth0 netns "$host"
  ip addr add "${NODE_IP}/24" dev eth0
  ip link set eth0 up
  nsenter -t "$host" -n sh -e -c "ip link set lo up; ip addr add ${HOST_IP}/24 dev eth0; ip link set eth0 up"
  ip route add default via "$HOST_IP" dev eth0
  ip link add veth-pod type veth peer name eth0 netns "$pod"
  ip addr add 10.244.0.1/24 dev veth-pod
  ip link set veth-pod up
  nsenter -t "$pod" -n sh -e -c 'ip link set lo up; ip addr add 10.244.0.2/24 dev eth0;
    ip link set eth0 up; ip route add default via 10.244.0.1'
  sysctl -q -w net.ipv4.ip_forward=1 net.ipv4.conf.all.route_localnet=1
  # What kube-proxy/kindnet would do: pod egress leaves the node with the node's address. Native
  # nftables, so iptables-save stays Docker's alone.
  nft -f - <<EOF
table ip sandbox-pod-egress {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.244.0.0/24 ip daddr != 10.244.0.0/24 oifname "eth0" masquerade
	}
}
EOF
}

# Docker's rules for its resolver at 127.0.0.11:UDP_PORT (udp) and :TCP_PORT (tcp), in the shape
# of moby's daemon/libnetwork/resolver_unix.go (setupNftablesNAT / setupIptablesNAT).
setup_docker_rules() {
  case "$1" in
    nftables)
      nft -f - <<EOF
table ip docker-dns {
	chain dns-dnat {
		type nat hook output priority -100; policy accept;
		ip daddr 127.0.0.11 udp dport 53 counter dnat to 127.0.0.11:${UDP_PORT}
		ip daddr 127.0.0.11 tcp dport 53 counter dnat to 127.0.0.11:${TCP_PORT}
	}
	chain dns-snat {
		type nat hook postrouting priority 100; policy accept;
		ip saddr 127.0.0.11 udp sport ${UDP_PORT} counter snat to :53
		ip saddr 127.0.0.11 tcp sport ${TCP_PORT} counter snat to :53
	}
}
EOF
      ;;
    iptables) iptables-nft-restore <"${REPO}/test/testdata/iptables/docker.rules" ;;
  esac
}

start_resolvers() {
  local proto port
  for proto in udp tcp; do
    [[ "$proto" == udp ]] && port=$UDP_PORT || port=$TCP_PORT
    dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root --pid-file= \
      --port="$port" --listen-address=127.0.0.11 --bind-interfaces --no-resolv --no-hosts \
      --address="/other-node.test/${OTHER_NODE_IP}" --log-queries \
      --log-facility="/sbx/dnsmasq-${proto}.log" </dev/null >/dev/null 2>&1 &
    PIDS+=" $!"
  done
  # at most 30 s: a bound on a loaded machine's speed is a failure, not a wait
  for _ in $(seq 1 3000); do
    if ss -Hlnu "sport = :${UDP_PORT}" | grep -q . && ss -Hlnt "sport = :${TCP_PORT}" | grep -q .; then
      return 0
    fi
    sleep 0.01
  done
  die "dnsmasq did not start"
}

setup_files() {
  set_node_identity "$(printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n%s\thost.docker.internal\n%s\tkind-control-plane\n' "$HOST_IP" "$NODE_IP")"$'\n'
  bind_file "${REPO}/test/testdata/resolv/docker.conf" /etc/resolv.conf
  mkdir -p /kind /etc/kubernetes /var/lib/kubelet
  # iptables on PATH is the nft variant, as in a node where Docker used nftables; `nft` records
  # every call the implementation makes.
  local t
  for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -s "/usr/sbin/${t/tables/tables-nft}" "/sbx/bin/${t}"
  done
  cat >/sbx/bin/nft <<'EOF'
#!/bin/sh
printf 'nft %s\n' "$*" >>/sbx/nft.log
exec /usr/sbin/nft "$@"
EOF
  chmod +x /sbx/bin/nft
}

run_impl() {
  local impl=$1 n=$2 rc=0 start end
  local -a env=(PATH=/sbx/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    HOME=/root container=docker NO_COLOR=1 DENO_NO_UPDATE_CHECK=1 DENO_DIR=/sbx/deno-dir)
  local deno="${DENO:-${REPO}/node_modules/.bin/deno}"
  cd /
  start=$(date +%s%N)
  case "$impl" in
    original)
      env -i "${env[@]}" timeout 60 bash -c \
        'set -o errexit -o nounset -o pipefail; source /sbx/original.sh; enable_network_magic' \
        </dev/null >"/sbx/stdout.${n}" 2>"/sbx/stderr.${n}" || rc=$?
      ;;
    driver)
      env -i "${env[@]}" timeout 60 "$deno" run -A "${KERNEL_DIR}/nft_dns_driver.ts" \
        </dev/null >"/sbx/stdout.${n}" 2>"/sbx/stderr.${n}" || rc=$?
      ;;
    bundle)
      env -i "${env[@]}" KIND_ENTRYPOINT_STEPS=network_magic timeout 60 \
        "$deno" run -A "${REPO}/dist/entrypoint.js" \
        </dev/null >"/sbx/stdout.${n}" 2>"/sbx/stderr.${n}" || rc=$?
      ;;
    none) : >"/sbx/stdout.${n}" && : >"/sbx/stderr.${n}" ;;
  esac
  end=$(date +%s%N)
  echo "$rc" >"/sbx/rc.${n}"
  echo "$(((end - start) / 1000000))" >"/sbx/ms.${n}"
}

section() { printf '\n## %s\n' "$1"; }

show() {
  if [[ -s "$1" ]]; then cat "$1"; else echo "(empty)"; fi
}

collect() {
  local n=$1
  section "run ${n}: exit status"
  cat "/sbx/rc.${n}"
  section "run ${n}: stdout"
  show "/sbx/stdout.${n}"
  section "run ${n}: stderr"
  show "/sbx/stderr.${n}"
  section "run ${n}: nft calls"
  show "/sbx/nft.${n}.log"
}

# pod_dig PROTO: what the pod gets for other-node.test from the DNS server kind gives it
pod_dig() {
  local flag
  [[ "$1" == tcp ]] && flag=+tcp || flag=+notcp
  nsenter -t "$POD_PID" -n dig +short +time=2 +tries=1 "$flag" "@${HOST_IP}" other-node.test A 2>&1 ||
    echo "(dig exit status $?)"
}

inside() {
  local impl=$1 backend=$2 runs=$3 n proto
  trap cleanup EXIT
  setup_network
  setup_docker_rules "$backend"
  setup_files
  start_resolvers
  printf '# implementation %s, Docker firewall backend %s\n' "$impl" "$backend"
  for n in $(seq 1 "$runs"); do
    : >/sbx/nft.log
    run_impl "$impl" "$n"
    mv /sbx/nft.log "/sbx/nft.${n}.log"
    collect "$n"
  done
  section "nft list table ip docker-dns"
  nft list table ip docker-dns 2>&1 | sed -E 's/counter packets [0-9]+ bytes [0-9]+/counter/' || true
  section "iptables-save -t nat"
  iptables-nft-save -t nat | sed -E -e '/^# /d' -e 's/\[[0-9]+:[0-9]+\]/[0:0]/g'
  section "/etc/resolv.conf nameserver"
  grep '^nameserver' /etc/resolv.conf || echo "(none)"
  for proto in udp tcp; do
    section "pod: dig ${proto} @${HOST_IP} other-node.test"
    pod_dig "$proto"
    section "resolver queries after the ${proto} dig (udp port, tcp port)"
    echo "$(grep -c 'query\[A\] other-node.test from 10.244.0.2' /sbx/dnsmasq-udp.log || true)" \
      "$(grep -c 'query\[A\] other-node.test from 10.244.0.2' /sbx/dnsmasq-tcp.log || true)"
  done
  section "timing (ms per run)"
  cat /sbx/ms.*
}

case "${1:-}" in
  __enter) shift && enter "$@" ;;
  __inside) shift && inside "$@" ;;
  *) main "$@" ;;
esac
