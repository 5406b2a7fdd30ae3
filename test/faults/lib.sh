#!/usr/bin/env bash
# Scenario defaults, loading and the helpers scenario files use (see README.md). Sourced by
# sandbox.sh inside the sandbox, and by faults.bats and report.sh outside it for the expectations.

FAULTS_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# kind's function for each step name of lib/steps.ts, in kind's order.
STEP_FUNCTIONS=(
  userns:validate_userns containerd:configure_containerd proxy:configure_proxy mount:fix_mount
  cgroup:fix_cgroup machine_id:fix_machine_id product_name:fix_product_name
  product_uuid:fix_product_uuid iptables:select_iptables network_magic:enable_network_magic
)

# original_calls STEPS: the original's function calls for comma-separated step names, in kind's
# order ("" for all of them).
original_calls() {
  local entry calls=()
  for entry in "${STEP_FUNCTIONS[@]}"; do
    if [[ -z "$1" || ",$1," == *",${entry%%:*},"* ]]; then calls+=("${entry#*:}"); fi
  done
  local IFS=';'
  echo "${calls[*]}"
}

# scenario_names: every scenario, sorted.
scenario_names() {
  local f
  for f in "${FAULTS_LIB_DIR}"/scenarios/*.sh; do basename "$f" .sh; done | LC_ALL=C sort
}

# load_scenario FILE: defaults, then the scenario's own settings and hooks.
# shellcheck disable=SC2034 # the settings are read by sandbox.sh, check.sh and report.sh
load_scenario() {
  FLT_TITLE=""
  FLT_STEPS=""
  FLT_ENV=()
  FLT_RESOLV=docker.conf
  FLT_HOSTS="$(printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n172.30.0.2\tkind-control-plane\n')"$'\n'
  FLT_RULES=docker.rules
  FLT_CONTROL_PLANE=0
  FLT_OLD_IPV4=""
  FLT_COMMAND_TIMEOUT_MS=1500
  FLT_HANG_AFTER=4
  FLT_PID1=0
  FLT_ORIGINAL_SAME_AS=""
  # expectations
  FLT_PORT_STATUS=0
  FLT_PORT_ERROR=""
  FLT_PORT_WARN=""
  FLT_PORT_INIT=ran
  FLT_UNCHANGED=""
  FLT_PORT_EXPECT_LINES=""
  FLT_PORT_REJECT_LINES=""
  FLT_ORIGINAL_STATUS=""
  FLT_ORIGINAL_DAMAGE=""
  FLT_ORIGINAL_EXPECT_LINES=""
  # hooks a scenario may replace
  # shellcheck disable=SC2317
  fault_setup() { :; }
  # shellcheck disable=SC2317
  fault_armed() { :; }
  # shellcheck disable=SC2317
  fault_during() { :; }
  # shellcheck disable=SC2317
  fault_report() { :; }
  # shellcheck source=/dev/null
  source "$1"
  # shellcheck disable=SC2034 # read by sandbox.sh
  FLT_STEPS_ORIGINAL="$(original_calls "$FLT_STEPS")"
}

# ---------------------------------------------------------------------------------------------
# helpers for fault_setup (inside the sandbox: the root is a throwaway overlay)

SANDBOX_PATH_DIRS=(/usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin)

# hide COMMAND...: removes every copy of the commands from the node's PATH.
hide() {
  local cmd dir
  for cmd in "$@"; do
    for dir in /sbx/bin "${SANDBOX_PATH_DIRS[@]}"; do rm -f "${dir}/${cmd}"; done
  done
}

# real_path COMMAND: where the command is, ignoring wrappers.
real_path() {
  PATH="/sbx/bin:$(
    IFS=:
    echo "${SANDBOX_PATH_DIRS[*]}"
  )" command -v "$1"
}

# wrap COMMAND MODE [ARG]: puts a wrapper earlier in PATH.
#   fail      prints a message on stderr and exits 3
#   hang      sleeps for an hour (dies on SIGTERM)
#   stubborn  ignores SIGTERM and SIGINT, then sleeps for an hour
#   garbage   prints ARG (default: binary-looking junk) on stdout and exits 0
#   slow      sleeps ARG seconds, then runs the real command
wrap() {
  local cmd=$1 mode=$2 arg=${3:-} real body
  real="$(real_path "$cmd" || true)"
  case "$mode" in
    fail) body="echo '${cmd}: simulated failure' >&2; exit 3" ;;
    hang) body="exec sleep 3600" ;;
    stubborn) body="trap '' TERM INT; sleep 3600; exit 0" ;;
    garbage)
      printf '%s' "${arg:-$'\x01\x02garbage \xff\xfe\n*nat\nnot an iptables line\n'}" >"/sbx/wrap/${cmd}.out"
      body="cat '/sbx/wrap/${cmd}.out'"
      ;;
    slow) body="sleep ${arg}; exec '${real}' \"\$@\"" ;;
    *) echo "wrap: unknown mode ${mode}" >&2 && return 2 ;;
  esac
  printf '#!/bin/bash\n%s\n' "$body" >"/sbx/wrap/${cmd}"
  chmod +x "/sbx/wrap/${cmd}"
}

# wrap_script COMMAND BODY: a wrapper with a body of the scenario's own.
wrap_script() {
  printf '#!/bin/bash\n%s\n' "$2" >"/sbx/wrap/$1"
  chmod +x "/sbx/wrap/$1"
}

# huge_resolv_conf BYTES: Docker's nameserver line, then comment lines up to about BYTES.
huge_resolv_conf() {
  python3 -c '
import sys
size = int(sys.argv[1])
head = b"nameserver 127.0.0.11\noptions ndots:0\n"
line = b"# padding padding padding padding padding padding padding padding padding padding pad\n"
# whole lines only: a file cut short then shows as one without a final newline
body = line * ((size - len(head)) // len(line))
sys.stdout.buffer.write(head + body)
' "$1" >/etc/resolv.conf
}

# slow_update_alternatives: update-alternatives marks that it started, waits 0.5 s, then runs.
slow_update_alternatives() {
  local real
  real="$(real_path update-alternatives)"
  wrap_script update-alternatives "touch /sbx/state/command.started; sleep 0.5; exec ${real} \"\$@\""
}

# signal_when_command_starts SIGNAL PID: sends SIGNAL (a kill -s name) to PID once the command
# slow_update_alternatives wrapped has started (waits at most 5 s).
signal_when_command_starts() {
  for _ in $(seq 1 500); do
    if [[ -e /sbx/state/command.started ]]; then
      kill -s "$1" "$2"
      return 0
    fi
    sleep 0.01
  done
}

# signal_when_file_changes SIGNAL FILE: for fault_armed, which runs before the implementation
# starts: notes FILE's size and mtime, says it is ready (/sbx/state/armed), and sends SIGNAL (a
# Python signal name) to the implementation (its PID from /sbx/state/pid) as soon as FILE's size
# or mtime changes, that is while it is being written, then creates /sbx/state/signal.sent; gives
# up after 25 s or when the implementation is gone. Armed before the start, it cannot miss a write
# that comes before a watcher started afterwards would be up.
signal_when_file_changes() {
  python3 - "$@" <<'PY'
import os, signal, sys, time
name, path = sys.argv[1], sys.argv[2]
before = os.stat(path)
open("/sbx/state/armed", "w").close()
deadline = time.time() + 25
pid = None
def read_pid():
    try:
        with open("/sbx/state/pid") as f:
            return int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return None
while time.time() < deadline:
    try:
        pid = pid or read_pid()
        now = os.stat(path)
        if (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            while pid is None and time.time() < deadline:
                pid = read_pid()
            os.kill(pid, getattr(signal, name))
            open("/sbx/state/signal.sent", "w").close()
            break
        if pid is not None:
            os.kill(pid, 0)
    except (FileNotFoundError, ProcessLookupError):
        break
PY
}

# init_waits_for_signal: /sbx/init waits (at most 10 s) for the watcher's signal before it records
# that it ran, so a signal sent at any moment of the run, exec included, finds init not yet run.
init_waits_for_signal() {
  printf '#!/bin/sh
for _ in $(seq 1000); do [ -e /sbx/state/signal.sent ] && break; sleep 0.01; done
echo "init ran: $*" >/sbx/state/init.ran
' >/sbx/init
}

# report_signal_sent SIGNAL FILE: for fault_report, a "signal" section saying whether
# signal_when_file_changes sent SIGNAL while FILE was being written.
report_signal_sent() {
  section "signal"
  if [[ -e /sbx/state/signal.sent ]]; then echo "$1 sent while ${2##*/} was being written"; else echo "not sent"; fi
}
