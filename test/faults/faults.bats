#!/usr/bin/env bats
# Fault suite: every scenario in test/faults/scenarios/ runs the port in a throwaway node-like
# sandbox on the real kernel (test/faults/sandbox.sh) and checks its exit status, its exact
# ERROR: line, the files and rules that must be unchanged, and that nothing is lost or half
# written. With KIND_ORIGINAL_ENTRYPOINT set, kind's original runs too and its status (and the
# damage it is known to do) is checked. Needs root. docs/reliability.md is generated from the
# same scenarios by test/faults/report.sh.

setup_file() {
  if [[ "$(id -u)" != 0 ]]; then
    skip "needs root: namespaces, mounts and iptables"
  fi
  if ! unshare --pid --net --mount --uts --fork true 2>/dev/null; then
    skip "cannot create PID/network/mount/UTS namespaces here"
  fi
  if [[ -z "${KIND_ORIGINAL_ENTRYPOINT:-}" ]]; then
    echo "# KIND_ORIGINAL_ENTRYPOINT unset: only the port's half of each scenario runs" >&3
  fi
}

setup() {
  load check.sh
  [[ -f "${FAULTS_CHECK_DIR}/../../dist/entrypoint.js" ]] || {
    echo "no dist/entrypoint.js: run npm run build" >&2
    return 1
  }
}

# check_fault NAME: the port's outcome, then (when available) the original's. Both sandboxes run
# at the same time: they share nothing, and most of a fault's time is spent waiting.
check_fault() {
  local port="${BATS_TEST_TMPDIR}/port.txt" original="${BATS_TEST_TMPDIR}/original.txt" pid=""
  load_scenario "${FAULTS_CHECK_DIR}/scenarios/$1.sh"
  if [[ -n "${KIND_ORIGINAL_ENTRYPOINT:-}" && -z "$FLT_ORIGINAL_SAME_AS" ]]; then
    run_scenario original "$1" "$original" &
    pid=$!
  fi
  run_scenario port "$1" "$port" || {
    cat "$port" >&2
    return 1
  }
  check_port "$1" "$port" || {
    cat "$port" >&2
    return 1
  }
  if [[ -n "$pid" ]]; then
    wait "$pid"
    check_original "$1" "$original" || {
      cat "$original" >&2
      return 1
    }
  fi
}

@test "every scenario has a test in this file" {
  local name missing=()
  for name in $(scenario_names); do
    grep -q "^  check_fault ${name}\$" "${BATS_TEST_FILENAME}" || missing+=("$name")
  done
  [[ ${#missing[@]} -eq 0 ]] || {
    echo "scenarios without a test: ${missing[*]}" >&2
    return 1
  }
}

# kill_run DELAY_MS BLOB: the sigkill-as-pid1 scenario with the SIGKILL DELAY_MS after the start
# (none: no kill).
kill_run() {
  FAULT_KILL_AFTER_MS=$1 run_scenario port sigkill-as-pid1 "$2"
}

@test "SIGKILL at 14 moments of a run as PID 1 leaves resolv.conf Docker's or the new one, never anything else" {
  local blob="${BATS_TEST_TMPDIR}/run.txt" digests old new after ms damage counts=""
  # the new file: a run without a kill (a kill after a fixed delay may still land on a loaded machine)
  kill_run none "$blob"
  [[ "$(blob_section "$blob" "exit status")" == 0 ]] || { cat "$blob" >&2; return 1; }
  digests="$(blob_section "$blob" "resolv.conf digests (before, after)")"
  old="$(sed -n 1p <<<"$digests")" new="$(sed -n 2p <<<"$digests")"
  [[ "$old" != "$new" ]] || { echo "the run did not rewrite resolv.conf" >&2; return 1; }
  for ms in 5 40 80 110 130 150 170 190 210 230 260 300 400 600; do
    kill_run "$ms" "$blob"
    after="$(blob_section "$blob" "resolv.conf digests (before, after)" | sed -n 2p)"
    # A kill between the creation and the rename of resolv.conf.original's temp file leaves that
    # file behind whatever the entrypoint does (SIGKILL cannot be caught), and which moment the
    # kill finds depends on the machine's speed: it is reported, not failed. Any other damage fails.
    damage="$(blob_section "$blob" damage | grep -v -e '^(none)$' -e '^leftover /etc/\.resolv\.conf\.original\.' || true)"
    [[ -z "$damage" ]] || { cat "$blob" >&2; return 1; }
    if blob_section "$blob" damage | grep -q '^leftover '; then counts+=" ${ms}ms:leftover-temp"; fi
    case "$after" in
      "$old") counts+=" ${ms}ms:old" ;;
      "$new") counts+=" ${ms}ms:new" ;;
      *) { echo "killed after ${ms} ms: resolv.conf is neither Docker's file nor the new one"; cat "$blob"; } >&2; return 1 ;;
    esac
  done
  echo "# resolv.conf after each kill:${counts}" >&3
}

# ---- one test per scenario (test/faults/gen-bats.sh rewrites what follows) ----

@test "baseline: no fault (control)" {
  check_fault baseline
}

@test "command-timeout-invalid: KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS invalid (port only)" {
  check_fault command-timeout-invalid
}

@test "containerd-config-missing: /etc/containerd/config.toml missing (snapshotter set)" {
  check_fault containerd-config-missing
}

@test "dns-search-300-characters: KIND_DNS_SEARCH of 300 characters" {
  check_fault dns-search-300-characters
}

@test "dns-search-metacharacters: KIND_DNS_SEARCH with a slash, an ampersand and a backslash (a/b.example & cd.example)" {
  check_fault dns-search-metacharacters
}

@test "dns-search-newline: KIND_DNS_SEARCH with a newline (and a nameserver line)" {
  check_fault dns-search-newline
}

@test "dns-search-seven-domains: KIND_DNS_SEARCH with 7 domains" {
  check_fault dns-search-seven-domains
}

@test "dry-run-misspelt: KIND_ENTRYPOINT_DRYRUN=1, a misspelt dry-run switch (port only)" {
  check_fault dry-run-misspelt
}

@test "ip-hangs: ip hangs (host.docker.internal unresolvable, default route without gateway)" {
  check_fault ip-hangs
}

@test "ip-route-without-gateway: default route without a gateway" {
  check_fault ip-route-without-gateway
}

@test "iptables-legacy-save-hangs: iptables-legacy-save hangs" {
  check_fault iptables-legacy-save-hangs
}

@test "iptables-nft-save-hangs: iptables-nft-save hangs" {
  check_fault iptables-nft-save-hangs
}

@test "iptables-restore-exits-early: iptables-restore exits without reading a large ruleset" {
  check_fault iptables-restore-exits-early
}

@test "iptables-restore-fails: iptables-restore fails" {
  check_fault iptables-restore-fails
}

@test "iptables-restore-hangs: iptables-restore hangs" {
  check_fault iptables-restore-hangs
}

@test "iptables-save-empty-table: iptables-save prints a nat table without the Docker rules" {
  check_fault iptables-save-empty-table
}

@test "iptables-save-fails: iptables-save fails" {
  check_fault iptables-save-fails
}

@test "iptables-save-garbage: iptables-save prints garbage" {
  check_fault iptables-save-garbage
}

@test "iptables-save-hangs: iptables-save hangs" {
  check_fault iptables-save-hangs
}

@test "iptables-save-hangs-default-bound: iptables-save hangs, built-in bound (10 s)" {
  check_fault iptables-save-hangs-default-bound
}

@test "iptables-save-ignores-sigterm: iptables-save hangs and ignores SIGTERM" {
  check_fault iptables-save-ignores-sigterm
}

@test "kind-dir-missing: /kind missing" {
  check_fault kind-dir-missing
}

@test "kind-dir-read-only: /kind read-only" {
  check_fault kind-dir-read-only
}

@test "kubeadm-fails: kubeadm fails (control plane, address changed)" {
  check_fault kubeadm-fails
}

@test "kubeadm-hangs: kubeadm hangs (control plane, address changed)" {
  check_fault kubeadm-hangs
}

@test "manifest-unreadable: a manifest unreadable (control plane, address changed)" {
  check_fault manifest-unreadable
}

@test "missing-ip: ip missing from PATH (host.docker.internal unresolvable, default route without gateway)" {
  check_fault missing-ip
}

@test "missing-iptables-legacy-save: iptables-legacy-save and ip6tables-legacy-save missing from PATH" {
  check_fault missing-iptables-legacy-save
}

@test "missing-iptables-nft-save: iptables-nft-save and ip6tables-nft-save missing from PATH" {
  check_fault missing-iptables-nft-save
}

@test "missing-kubeadm: kubeadm missing from PATH (control plane, address changed)" {
  check_fault missing-kubeadm
}

@test "missing-mount: mount missing from PATH" {
  check_fault missing-mount
}

@test "missing-systemd-machine-id-setup: systemd-machine-id-setup missing from PATH" {
  check_fault missing-systemd-machine-id-setup
}

@test "missing-update-alternatives: update-alternatives missing from PATH" {
  check_fault missing-update-alternatives
}

@test "mount-hangs: mount hangs" {
  check_fault mount-hangs
}

@test "nft-dns-table-rewritten: no fault: Dockers nftables DNS table (control)" {
  check_fault nft-dns-table-rewritten
}

@test "nft-hangs: nft hangs (Dockers nftables DNS table)" {
  check_fault nft-hangs
}

@test "nft-missing: nft missing from PATH (Dockers nftables DNS table)" {
  check_fault nft-missing
}

@test "old-ipv4-garbage: /kind/old-ipv4 holds garbage (control plane)" {
  check_fault old-ipv4-garbage
}

@test "old-ipv4-ipv6-address: /kind/old-ipv4 holds an IPv6 address" {
  check_fault old-ipv4-ipv6-address
}

@test "old-ipv4-regex: /kind/old-ipv4 holds regex metacharacters (.*)" {
  check_fault old-ipv4-regex
}

@test "old-ipv4-sed-command: /kind/old-ipv4 holds a sed command (x#y#w /kind/injected)" {
  check_fault old-ipv4-sed-command
}

@test "old-ipv4-trailing-newline: /kind/old-ipv4 with a trailing newline (address changed)" {
  check_fault old-ipv4-trailing-newline
}

@test "proxy-quotes-and-newlines: proxy variables with quotes and a newline" {
  check_fault proxy-quotes-and-newlines
}

@test "resolv-conf-directory: /etc/resolv.conf is a directory" {
  check_fault resolv-conf-directory
}

@test "resolv-conf-empty: /etc/resolv.conf empty" {
  check_fault resolv-conf-empty
}

@test "resolv-conf-huge: /etc/resolv.conf huge (32 MiB)" {
  check_fault resolv-conf-huge
}

@test "resolv-conf-missing: /etc/resolv.conf missing" {
  check_fault resolv-conf-missing
}

@test "resolv-conf-read-only: /etc/resolv.conf read-only" {
  check_fault resolv-conf-read-only
}

@test "sigkill-as-pid1: SIGKILL to PID 1 the moment /etc/resolv.conf changes (KIND_DNS_SEARCH of 2000 characters)" {
  check_fault sigkill-as-pid1
}

@test "sigkill-during-resolv-conf-write-as-pid1: SIGKILL to PID 1 while /etc/resolv.conf is being written" {
  check_fault sigkill-during-resolv-conf-write-as-pid1
}

@test "sigkill-during-shorter-resolv-conf-write-as-pid1: SIGKILL to PID 1 while /etc/resolv.conf is rewritten with a shorter text" {
  check_fault sigkill-during-shorter-resolv-conf-write-as-pid1
}

@test "sigrtmin3-as-pid1: SIGRTMIN+3 to PID 1 while a command runs (update-alternatives)" {
  check_fault sigrtmin3-as-pid1
}

@test "sigterm-as-pid1: SIGTERM to PID 1 while a command runs (update-alternatives)" {
  check_fault sigterm-as-pid1
}

@test "sigterm-during-command: SIGTERM while a command runs (update-alternatives)" {
  check_fault sigterm-during-command
}

@test "sigterm-during-resolv-conf-write: SIGTERM while /etc/resolv.conf is being written" {
  check_fault sigterm-during-resolv-conf-write
}

@test "slow-dns: slow DNS: every lookup unanswered (resolver timeout 30 s)" {
  check_fault slow-dns
}

@test "snapshotter-metacharacters: KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER with a quote, an ampersand and a command substitution (native & (id))" {
  check_fault snapshotter-metacharacters
}

@test "snapshotter-unknown: KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER unknown (nonexistent)" {
  check_fault snapshotter-unknown
}

@test "systemd-machine-id-setup-hangs: systemd-machine-id-setup hangs" {
  check_fault systemd-machine-id-setup-hangs
}

@test "update-alternatives-fails: update-alternatives fails" {
  check_fault update-alternatives-fails
}

@test "update-alternatives-garbage: update-alternatives prints garbage and succeeds" {
  check_fault update-alternatives-garbage
}

@test "update-alternatives-hangs: update-alternatives hangs" {
  check_fault update-alternatives-hangs
}
