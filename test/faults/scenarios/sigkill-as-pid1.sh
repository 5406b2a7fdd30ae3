# shellcheck shell=bash disable=SC2034,SC2016
# SIGKILL to the entrypoint as PID 1 (docker kill, or docker stop after its grace period) the
# moment /etc/resolv.conf changes, with a KIND_DNS_SEARCH of ~2000 characters (the new file is
# bigger than Docker's, both under a page): resolv.conf must be Docker's file or the new one,
# never empty or cut. With FAULT_KILL_AFTER_MS set, the kill comes that many milliseconds after
# the start instead (the kill loop in faults.bats), and with FAULT_KILL_AFTER_MS=none there is
# no kill (the loop's run that writes the new file, whatever the machine's speed).
#
# The kill lands during the change every time: the watcher is armed before the implementation
# starts (fault_armed), so it cannot miss a write that comes before it is up, and init waits for
# the kill before it records that it ran (so a kill that lands after exec still finds init "not
# run").
FLT_TITLE="SIGKILL to PID 1 the moment /etc/resolv.conf changes (KIND_DNS_SEARCH of 2000 characters)"
FLT_STEPS=network_magic
FLT_PID1=1
FLT_ENV=("KIND_DNS_SEARCH=$(printf 'd%03d-abcdefghijklmnopqrstu.example ' $(seq 1 60) | cut -c1-2000)")
fault_setup() {
  [[ -n "${FAULT_KILL_AFTER_MS:-}" ]] || init_waits_for_signal
}
fault_armed() {
  [[ -n "${FAULT_KILL_AFTER_MS:-}" ]] || signal_when_file_changes SIGKILL /etc/resolv.conf
}
fault_during() {
  [[ -n "${FAULT_KILL_AFTER_MS:-}" && "${FAULT_KILL_AFTER_MS}" != none ]] || return 0
  sleep "$(printf '0.%03d' "$FAULT_KILL_AFTER_MS")"
  kill -KILL "$1" 2>/dev/null || true
}
fault_report() {
  [[ -n "${FAULT_KILL_AFTER_MS:-}" ]] || report_signal_sent SIGKILL /etc/resolv.conf
  section "resolv.conf digests (before, after)"
  sha256sum <"${FAULTS_DIR}/fixtures/${FLT_RESOLV}" | cut -c1-16
  sha256sum </etc/resolv.conf | cut -c1-16
}
FLT_PORT_STATUS=137
FLT_PORT_INIT="not run"
FLT_PORT_EXPECT_LINES="SIGKILL sent while resolv.conf was being written"
# At this size kind's script is done before the watcher has started, so its half proves nothing
# here; sigkill-during-resolv-conf-write-as-pid1 shows what a kill mid-write does to it.
FLT_ORIGINAL_SAME_AS=sigkill-during-resolv-conf-write-as-pid1
