#!/usr/bin/env bash
# Side-by-side boot benchmark of the port and kind's original entrypoint (`npm run bench`).
#
# In the container test bed (test/e2e/lib.sh) it starts BENCH_N fresh nodes per implementation,
# interleaved original / port / original / port so that machine noise hits both alike, and
# measures entrypoint start -> exec of the command:
#   start: the shim's E2E_T0_FILE, written by the shim (bash's $EPOCHREALTIME) right before it
#          execs /usr/local/bin/entrypoint;
#   end:   the command, the same for both, is `bash -c` that reads $EPOCHREALTIME first thing.
# Both stamps are CLOCK_REALTIME in the same container with microsecond resolution. The end stamp
# includes bash's own start-up (~1 ms), equally on both sides; /proc/self/stat's starttime would
# avoid that but counts in clock ticks (10 ms), too coarse for a 100 ms boot.
#
# Then, per implementation: one run under strace -f (execve) to count the programs executed,
# BENCH_TRACE_N runs with the per-step trace (the port's KIND_ENTRYPOINT_TRACE=1, the original
# under `bash -x` with PS4='+ $EPOCHREALTIME '), and the mount table each leaves behind.
#
# Usage: bench/run.sh [--scale]   (--scale: only the rule-rewrite scaling run, bench/scale.ts)
# Env:
#   KIND_ORIGINAL_ENTRYPOINT  kind's entrypoint script; without it only the port is measured
#   BENCH_N                   pairs (default 15)
#   BENCH_TRACE_N             traced runs per implementation for the breakdown (default 5)
#   BENCH_OUT                 JSON to write (default bench/results/latest.json)
#   BENCH_RAW                 keep the raw files in this directory
#   BENCH_IMAGE               port image tag (default kind-entrypoint-ts/node:bench)
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$bench_dir/.." && pwd)"
deno="$repo/node_modules/.bin/deno"

if [[ ${1:-} == --scale ]]; then
  exec "$deno" run -A --no-config "$bench_dir/scale.ts" --out "$bench_dir/results/scale.json"
fi

# shellcheck source=../test/e2e/lib.sh
source "$repo/test/e2e/lib.sh"

readonly N=${BENCH_N:-15}
readonly TRACE_N=${BENCH_TRACE_N:-5}
readonly OUT=${BENCH_OUT:-$bench_dir/results/latest.json}
# BENCH_RAW=DIR keeps the raw logs, strace and mountinfo files there.
readonly KEEP_RAW=${BENCH_RAW:-}
# The same command for both: its first expansion is the end stamp.
# shellcheck disable=SC2016 # expanded by the command's bash
readonly CMD=(/bin/bash -c 'printf "BENCH t1=%s t0=%s\n" "$EPOCHREALTIME" "$(</tmp/bench-t0)"')
# Like a real kind node: DMI present, so the product steps run on both sides.
readonly RUN_ARGS=(-e E2E_FAKE_DMI=1 -e E2E_T0_FILE=/tmp/bench-t0)

raw="${KEEP_RAW:-$(mktemp -d)}"
mkdir -p "$raw"
names=()
cleanup() {
  e2e_rm "${names[@]}"
  [[ -n $KEEP_RAW ]] || rm -rf "$raw"
}
trap cleanup EXIT

log() { printf 'bench: %s\n' "$*" >&2; }

# run_node NAME IMAGE [docker args...]: runs one node with CMD to the end; keeps its log.
run_node() {
  local name=$1 image=$2
  shift 2
  names+=("$name")
  e2e_rm "$name"
  e2e_run_node "$name" "$image" "${RUN_ARGS[@]}" "$@" -- "${CMD[@]}" >/dev/null
  docker wait "$name" >/dev/null
  e2e_logs "$name" >"$raw/$name.log"
}

# copy_out NAME PATH DEST: a file from a stopped node's /var volume.
copy_out() {
  docker cp "$1:$2" - 2>/dev/null | tar -xO >"$3" || : >"$3"
}

main() {
  e2e_ensure_dockerd
  (cd "$repo" && npm run --silent build) >&2
  local port original=""
  port="$(E2E_NODE_IMAGE=${BENCH_IMAGE:-kind-entrypoint-ts/node:bench} e2e_node_image)"
  if [[ -n ${KIND_ORIGINAL_ENTRYPOINT:-} ]]; then
    original="$(e2e_original_image)"
  else
    log 'KIND_ORIGINAL_ENTRYPOINT is not set: measuring the port alone'
  fi
  e2e_network

  local i impl
  local -a impls=(port)
  [[ -n $original ]] && impls=(original port)
  image_of() { if [[ $1 == port ]]; then echo "$port"; else echo "$original"; fi; }

  log "boot: $N run(s) per implementation, interleaved (${impls[*]})"
  for ((i = 1; i <= N; i++)); do
    for impl in "${impls[@]}"; do
      run_node "kets-bench-$impl-$i" "$(image_of "$impl")"
      e2e_rm "kets-bench-$impl-$i"
    done
  done

  log "programs and mount tables: one run per implementation under strace -f"
  local name
  for impl in "${impls[@]}"; do
    name="kets-bench-$impl-strace"
    names+=("$name")
    e2e_rm "$name"
    # The timed command, then the mount table the entrypoint leaves for init.
    e2e_run_node "$name" "$(image_of "$impl")" "${RUN_ARGS[@]}" -e E2E_STRACE_OUT=/var/bench.strace \
      -- /bin/bash -c "${CMD[2]}; cat /proc/self/mountinfo >/var/bench.mountinfo" >/dev/null
    docker wait "$name" >/dev/null
    e2e_logs "$name" >"$raw/$name.log"
    copy_out "$name" /var/bench.strace "$raw/$name.strace"
    copy_out "$name" /var/bench.mountinfo "$raw/$impl.mountinfo"
    e2e_rm "$name"
  done

  log "breakdown: $TRACE_N traced run(s) per implementation"
  for ((i = 1; i <= TRACE_N; i++)); do
    for impl in "${impls[@]}"; do
      name="kets-bench-$impl-trace-$i"
      local -a extra=(-e KIND_ENTRYPOINT_TRACE=1)
      if [[ $impl == original ]]; then
        extra=(-v "$bench_dir/xtrace-entrypoint.sh:/usr/local/bin/entrypoint:ro"
          -v "$KIND_ORIGINAL_ENTRYPOINT:/bench/original-entrypoint:ro")
      fi
      run_node "$name" "$(image_of "$impl")" "${extra[@]}"
      e2e_rm "$name"
    done
  done

  local bundle="$repo/dist/entrypoint.js"
  "$deno" run -A --no-config "$bench_dir/report.ts" \
    --raw "$raw" --n "$N" --trace-n "$TRACE_N" --out "$OUT" \
    --bundle "$bundle" --image "$port" ${original:+--original-image "$original"} \
    --scale "$bench_dir/results/scale.json"
}

main "$@"
