#!/usr/bin/env bash
# Regenerates test/e2e/observed/: what a node in the test bed sees, captured from real
# containers, for use as test fixtures. A node with the entrypoint skipped shows what Docker
# sets up; with KIND_ORIGINAL_ENTRYPOINT set, a node running kind's original shows its result.
#
# Ports in the DNAT rules, IPs and timestamps differ per run; the shapes are what matter.
set -euo pipefail

# shellcheck source=test/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly OUT="$E2E_DIR/observed"
readonly BARE=kets-observe-bare ORIG=kets-observe-orig

# capture NODE FILE CMD...: writes CMD's stdout (run in NODE) to observed/FILE, and its exit
# status to observed/FILE.status when it is not 0 (an empty answer is a finding too).
capture() {
  local node=$1 file=$2 rc=0
  shift 2
  docker exec "$node" "$@" >"$OUT/$file" 2>/dev/null || rc=$?
  if ((rc != 0)); then
    echo "$rc" >"$OUT/$file.status"
  else
    rm -f "$OUT/$file.status"
  fi
}

cleanup() { e2e_rm "$BARE" "$ORIG"; }

main() {
  e2e_ensure_dockerd
  trap cleanup EXIT
  cleanup
  mkdir -p "$OUT"
  local base
  base="$(e2e_base_image)"
  e2e_run_node "$BARE" "$base" -e E2E_SKIP_ENTRYPOINT=1 >/dev/null 2>&1
  e2e_wait_booted "$BARE"

  # As Docker leaves them: the entrypoint's inputs.
  # (The entrypoint's own call; Debian's default alternative is the nft backend, and nat is
  # the only table Docker fills in a node.)
  capture "$BARE" docker.nat.iptables-save iptables-save -t nat
  # The other inputs of the legacy/nft mode detection: all empty here.
  capture "$BARE" docker.ip6tables-nft-save ip6tables-nft-save
  capture "$BARE" docker.iptables-legacy-save iptables-legacy-save
  capture "$BARE" docker.resolv.conf cat /etc/resolv.conf
  capture "$BARE" docker.hosts cat /etc/hosts
  capture "$BARE" docker.ip-route-default ip -4 route show default
  capture "$BARE" getent-ahostsv4-hostname getent ahostsv4 "$BARE"
  capture "$BARE" getent-ahostsv6-hostname getent ahostsv6 "$BARE"
  capture "$BARE" getent-ahostsv4-host.docker.internal getent ahostsv4 host.docker.internal

  if [[ -n ${KIND_ORIGINAL_ENTRYPOINT:-} ]]; then
    e2e_run_node "$ORIG" "$(e2e_original_image)" >/dev/null 2>&1
    e2e_wait_booted "$ORIG"
    # The original's results.
    capture "$ORIG" original.nat.iptables-save iptables-save -t nat
    capture "$ORIG" original.resolv.conf cat /etc/resolv.conf
    capture "$ORIG" original.resolv.conf.original cat /etc/resolv.conf.original
    # Its log up to the exec, as `docker logs` shows it through the tty (CR removed).
    e2e_logs "$ORIG" | sed -n '1,/^INFO: starting init$/p' >"$OUT/original.log"
  fi
  {
    echo "docker server: $(docker version --format '{{.Server.Version}}')"
    echo "kernel: $(uname -r)"
    echo "node iptables: $(docker exec "$BARE" iptables --version)"
    echo "cgroup: $([[ -e /sys/fs/cgroup/cgroup.controllers ]] && echo v2 || echo v1)"
    echo "network: $E2E_NETWORK, gateway $(e2e_network_gateway)"
  } >"$OUT/environment"
  echo "wrote $OUT" >&2
}

main "$@"
