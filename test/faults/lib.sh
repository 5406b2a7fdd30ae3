#!/usr/bin/env bash
# Scenario defaults, loading and the helpers scenario files use (see README.md). Sourced by
# sandbox.sh inside the sandbox, and by faults.bats and report.sh outside it for the expectations.

FAULTS_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# kind's function for each step name of lib/boot/steps.ts, in kind's order.
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

# slow_update_alternatives: update-alternatives marks that it started, then waits (at most 30 s)
# until signal_when_command_starts has sent its signal, then runs: the signal lands while the
# command runs however late the watcher is scheduled.
slow_update_alternatives() {
  local real
  real="$(real_path update-alternatives)"
  wrap_script update-alternatives "touch /sbx/state/command.started
for _ in \$(seq 3000); do [[ -e /sbx/state/signal.sent ]] && break; sleep 0.01; done
exec ${real} \"\$@\""
}

# signal_when_command_starts SIGNAL PID: sends SIGNAL (a kill -s name) to PID once the command
# slow_update_alternatives wrapped has started (waits at most 30 s), then creates
# /sbx/state/signal.sent.
signal_when_command_starts() {
  local deadline=$((${EPOCHREALTIME/./} + 30000000))
  while ((${EPOCHREALTIME/./} < deadline)); do
    if [[ -e /sbx/state/command.started ]]; then
      kill -s "$1" "$2"
      : >/sbx/state/signal.sent
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

# signal_at_write_open SIGNAL PID FILE: sends SIGNAL (a Python signal name) to PID the moment a
# process opens FILE for writing, after the open (and its O_TRUNC) and before the first byte is
# written, and then creates /sbx/state/signal.sent. The outcome does not depend on timing: a
# fanotify permission event holds the opener inside open(2) while the watcher sends it SIGSTOP,
# the open then completes, and SIGNAL goes to PID only once the opener is stopped; SIGCONT
# follows (a stopped process without a handler dies of SIGNAL at once, one with a handler takes
# it when it runs again). PID is expected to be the opener (the signal does not go to a child that
# writes for it). Gives up after 25 s or when PID is gone. It creates /sbx/state/watcher.ready once
# it watches, for gate_until_watching.
signal_at_write_open() {
  python3 - "$@" <<'PY'
import ctypes, os, select, signal, struct, sys, time
name, pid, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
FAN_CLOEXEC, FAN_CLASS_CONTENT, FAN_REPORT_TID = 0x1, 0x4, 0x100
FAN_MARK_ADD, FAN_OPEN_PERM, FAN_ALLOW, AT_FDCWD = 0x1, 0x10000, 0x1, -100
SYS_OPEN, SYS_OPENAT = 2, 257  # x86_64
fan = libc.fanotify_init(FAN_CLOEXEC | FAN_CLASS_CONTENT | FAN_REPORT_TID, os.O_RDONLY | os.O_CLOEXEC)
if fan < 0 or libc.fanotify_mark(fan, FAN_MARK_ADD, ctypes.c_uint64(FAN_OPEN_PERM), AT_FDCWD, path.encode()) < 0:
    sys.exit("signal_at_write_open: fanotify: " + os.strerror(ctypes.get_errno()))
open("/sbx/state/watcher.ready", "w").close()

def opens_for_writing(tid):
    # the opener waits inside open(2): its arguments are in /proc/TID/syscall
    try:
        fields = open(f"/proc/{tid}/syscall").read().split()
    except OSError:
        return False
    nr = int(fields[0]) if fields[0].lstrip("-").isdigit() else -1
    flags = {SYS_OPEN: 2, SYS_OPENAT: 3}.get(nr)
    return flags is not None and int(fields[flags], 16) & os.O_ACCMODE != os.O_RDONLY

def kill(target, sig):
    try:
        os.kill(target, sig)
        return True
    except ProcessLookupError:
        return False

def stopped(tid):
    try:
        return open(f"/proc/{tid}/stat").read().rsplit(")", 1)[1].split()[0] in "tT"
    except OSError:
        return True

deadline = time.time() + 25
done = False
while not done and time.time() < deadline:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    if not select.select([fan], [], [], 0.05)[0]:
        continue
    buf = os.read(fan, 4096)
    while buf:
        length, _, _, _, _, fd, tid = struct.unpack_from("=IBBHQii", buf)
        buf = buf[length:]
        writer = not done and opens_for_writing(tid)
        if writer:
            writer = kill(tid, signal.SIGSTOP)
        os.write(fan, struct.pack("=iI", fd, FAN_ALLOW))
        os.close(fd)
        if writer:
            until = time.time() + 10
            while not stopped(tid) and time.time() < until:
                time.sleep(0.001)
            if kill(pid, getattr(signal, name)):
                open("/sbx/state/signal.sent", "w").close()
            kill(tid, signal.SIGCONT)
            done = True
PY
}

# gate_until_watching COMMAND: COMMAND (a program the run calls before it writes the watched file)
# waits until the watcher (signal_when_file_changes, signal_at_write_open) is ready (at most 10 s),
# then runs as usual. Without it a watcher that starts late sees the file already written and
# never sends its signal.
gate_until_watching() {
  wrap_script "$1" "for _ in \$(seq 1000); do [[ -e /sbx/state/watcher.ready ]] && break; sleep 0.01; done
exec '$(real_path "$1")' \"\$@\""
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
