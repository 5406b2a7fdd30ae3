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
# under `bash -x` with PS4='+ $EPOCHREALTIME '), and the mount table each leaves behind; and
# for the port BENCH_TRACE_N traced runs with Deno's code cache hidden, for the import time
# without it. Then the floor: BENCH_FLOOR_N runs each of the port with KIND_ENTRYPOINT_STEPS=none
# and of an empty Deno program in its place (bench/empty-entrypoint.sh), start -> exec of the
# command. Last, a cluster's start: BENCH_CLUSTER_ROUNDS rounds of BENCH_CLUSTER_NODES nodes per
# implementation started at once (kind starts a cluster's nodes together), each round's span from
# the first node's start stamp to the last node's exec stamp. Last, the DNS relay's share of a
# boot (the port only): BENCH_IPV6_N pairs of nodes on a dual-stack network, interleaved, one
# started with kind's IPv6 flags (a node of a cluster with IPv6, which enables the relay) and one
# without (which does not).
#
# All of that once per node view: `v1`, the host's cgroup v1 hierarchy (what kind's script does
# most work for), and `v2`, a pure cgroup v2 view (the test bed's E2E_CGROUP2=1), where kind's
# script skips its cgroup work. The report ends with one `boot (cgroup vN):` line per view.
#
# Usage: bench/run.sh [--update] [--scale] [--relay]
#   --update  also write the committed results (bench/results/latest.json, and scale.json with
#             --scale, relay.json with --relay) and rewrite the generated block of docs/speed.md
#             from them; without it results go to bench/results/local/, which git ignores
#   --scale   only the rule-rewrite scaling run, bench/scale.ts
#   --relay   only the DNS relay's cost on loopback (latency, queries/s, memory) and beside dnsmasq
#             (dnsperf), bench/relay.ts; with --update also the generated block of docs/ipv6.md;
#             then relay and dnsmasq on a booted test-bed node, bench/relay_node.sh (printed only)
# Env:
#   KIND_ORIGINAL_ENTRYPOINT  kind's entrypoint script; without it only the port is measured
#   BENCH_N                   pairs per view (default 15)
#   BENCH_TRACE_N             traced runs per implementation and view for the breakdown (default 5)
#   BENCH_FLOOR_N             runs of the empty-steps floor and of an empty Deno program (default 10)
#   BENCH_CLUSTER_NODES       nodes started at once (default 4)
#   BENCH_CLUSTER_ROUNDS      rounds of them per implementation and view (default 3)
#   BENCH_IPV6_N              pairs of IPv6-cluster nodes with and without the relay per view (default 5)
#   BENCH_VIEWS               node views to measure (default "v1 v2")
#   BENCH_OUT                 JSON to write (default: see --update)
#   BENCH_RAW                 keep the raw files in this directory
#   BENCH_IMAGE               port image tag (default kind-entrypoint-ts/node:bench)
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$bench_dir/.." && pwd)"
deno="$repo/node_modules/.bin/deno"

update=0 scale=0 relay=0
for arg in "$@"; do
  case $arg in
    --update) update=1 ;;
    --scale) scale=1 ;;
    --relay) relay=1 ;;
    *) echo "bench/run.sh: unknown argument $arg (use --update, --scale, --relay)" >&2 && exit 2 ;;
  esac
done
# Committed results change only when asked; an ordinary run must leave the work tree clean.
if ((update)); then
  results="$bench_dir/results"
else
  results="$bench_dir/results/local"
fi
readonly results

readonly docs="$repo/docs/speed.md"

if ((relay)); then
  mkdir -p "$results"
  node "$repo/scripts/build.mjs" >/dev/null
  relay_docs=()
  ((update)) && relay_docs=(--docs "$repo/docs/ipv6.md")
  "$deno" run -A --unstable-net --no-config "$bench_dir/relay.ts" \
    --out "${BENCH_OUT:-$results/relay.json}" "${relay_docs[@]}"
  # The same comparison on a booted test-bed node, over the path an IPv6-only pod takes.
  exec bash "$bench_dir/relay_node.sh"
fi
if ((scale)); then
  "$deno" run -A --no-config "$bench_dir/scale.ts" --out "${BENCH_OUT:-$results/scale.json}"
  if ((update)); then
    exec "$deno" run -A --no-config "$bench_dir/report.ts" --from "$results/latest.json" \
      --scale "$results/scale.json" --docs "$docs"
  fi
  exit 0
fi

# shellcheck source=../test/e2e/lib.sh
source "$repo/test/e2e/lib.sh"

readonly N=${BENCH_N:-15}
readonly TRACE_N=${BENCH_TRACE_N:-5}
readonly FLOOR_N=${BENCH_FLOOR_N:-10}
readonly CLUSTER_NODES=${BENCH_CLUSTER_NODES:-4}
readonly CLUSTER_ROUNDS=${BENCH_CLUSTER_ROUNDS:-3}
readonly IPV6_N=${BENCH_IPV6_N:-5}
# The dual-stack network of the relay's runs, and kind's flags for the nodes of a cluster with IPv6.
readonly IPV6_NETWORK=kets-bench-ipv6
readonly IPV6_FLAGS=(--sysctl net.ipv6.conf.all.disable_ipv6=0 --sysctl net.ipv6.conf.all.forwarding=1)
# Deno's code cache in the port's image (images/entrypoint's DENO_DIR).
readonly DENO_CACHE_DIR=/usr/local/lib/kind-entrypoint-ts/deno-dir
readonly OUT=${BENCH_OUT:-$results/latest.json}
read -r -a VIEWS <<<"${BENCH_VIEWS:-v1 v2}"
readonly VIEWS
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
# The view being measured: its raw directory and its docker run arguments.
view_dir=$raw
view_run_args=()
cleanup() {
  e2e_rm "${names[@]}"
  docker network rm "$IPV6_NETWORK" >/dev/null 2>&1 || true
  [[ -n $KEEP_RAW ]] || rm -rf "$raw"
}
trap cleanup EXIT

log() { printf 'bench: %s\n' "$*" >&2; }

# The docker run arguments of a node view, one a line.
view_args() {
  case $1 in
    v1) ;;
    v2) printf '%s\n' -e E2E_CGROUP2=1 ;;
    *) echo "bench/run.sh: unknown view $1 (v1, v2)" >&2 && return 1 ;;
  esac
}

# run_node NAME IMAGE [docker args...]: runs one node with CMD to the end; keeps its log in
# $view_dir (the raw directory of the view being measured).
run_node() {
  local name=$1 image=$2
  shift 2
  names+=("$name")
  e2e_rm "$name"
  e2e_run_node "$name" "$image" "${RUN_ARGS[@]}" "${view_run_args[@]}" "$@" -- "${CMD[@]}" \
    >/dev/null
  docker wait "$name" >/dev/null
  e2e_logs "$name" >"$view_dir/$name.log"
}

# start_together PREFIX IMAGE: BENCH_CLUSTER_NODES nodes PREFIX-1.. started at once, each with
# CMD, run to the end; their logs kept in $view_dir.
start_together() {
  local prefix=$1 image=$2 k name
  local -a members=() pids=()
  for ((k = 1; k <= CLUSTER_NODES; k++)); do members+=("$prefix-$k"); done
  names+=("${members[@]}")
  e2e_rm "${members[@]}"
  for name in "${members[@]}"; do
    e2e_run_node "$name" "$image" "${RUN_ARGS[@]}" "${view_run_args[@]}" -- "${CMD[@]}" \
      >/dev/null &
    pids+=("$!")
  done
  wait "${pids[@]}"
  for name in "${members[@]}"; do
    docker wait "$name" >/dev/null
    e2e_logs "$name" >"$view_dir/$name.log"
  done
  e2e_rm "${members[@]}"
}

# copy_out NAME PATH DEST: a file from a stopped node's /var volume.
copy_out() {
  docker cp "$1:$2" - 2>/dev/null | tar -xO >"$3" || : >"$3"
}

# bench_view VIEW PORT_IMAGE [ORIGINAL_IMAGE]: all runs of one node view, raw files in $raw/VIEW.
bench_view() {
  local view=$1 port=$2 original=${3:-}
  view_dir="$raw/$view"
  mkdir -p "$view_dir"
  mapfile -t view_run_args < <(view_args "$view")

  local i impl
  local -a impls=(port)
  [[ -n $original ]] && impls=(original port)
  image_of() { if [[ $1 == port ]]; then echo "$port"; else echo "$original"; fi; }

  log "[$view] boot: $N run(s) per implementation, interleaved (${impls[*]})"
  for ((i = 1; i <= N; i++)); do
    for impl in "${impls[@]}"; do
      run_node "kets-bench-$impl-$i" "$(image_of "$impl")"
      e2e_rm "kets-bench-$impl-$i"
    done
  done

  log "[$view] programs and mount tables: one run per implementation under strace -f"
  local name
  for impl in "${impls[@]}"; do
    name="kets-bench-$impl-strace"
    names+=("$name")
    e2e_rm "$name"
    # The timed command, then the mount table the entrypoint leaves for init.
    e2e_run_node "$name" "$(image_of "$impl")" "${RUN_ARGS[@]}" "${view_run_args[@]}" \
      -e E2E_STRACE_OUT=/var/bench.strace \
      -- /bin/bash -c "${CMD[2]}; cat /proc/self/mountinfo >/var/bench.mountinfo" >/dev/null
    docker wait "$name" >/dev/null
    e2e_logs "$name" >"$view_dir/$name.log"
    copy_out "$name" /var/bench.strace "$view_dir/$name.strace"
    copy_out "$name" /var/bench.mountinfo "$view_dir/$impl.mountinfo"
    e2e_rm "$name"
  done

  log "[$view] breakdown: $TRACE_N traced run(s) per implementation"
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
    # The same traced run with Deno's cache hidden (an empty directory over it), to show what
    # the warm cache saves.
    name="kets-bench-port-nocache-$i"
    run_node "$name" "$port" -e KIND_ENTRYPOINT_TRACE=1 --tmpfs "$DENO_CACHE_DIR:ro"
    e2e_rm "$name"
  done

  log "[$view] floor: $FLOOR_N run(s) each of the port with no steps and of an empty Deno program"
  for ((i = 1; i <= FLOOR_N; i++)); do
    run_node "kets-bench-floor-port-$i" "$port" -e KIND_ENTRYPOINT_STEPS=none
    e2e_rm "kets-bench-floor-port-$i"
    run_node "kets-bench-floor-empty-$i" "$port" \
      -v "$bench_dir/empty-entrypoint.sh:/usr/local/bin/entrypoint:ro" \
      -v "$bench_dir/empty.js:/bench/empty.js:ro"
    e2e_rm "kets-bench-floor-empty-$i"
  done

  log "[$view] cluster: $CLUSTER_ROUNDS round(s) of $CLUSTER_NODES nodes at once (${impls[*]})"
  for ((i = 1; i <= CLUSTER_ROUNDS; i++)); do
    for impl in "${impls[@]}"; do
      start_together "kets-bench-cluster-$impl-$i" "$(image_of "$impl")"
    done
  done

  log "[$view] DNS relay: $IPV6_N pair(s) of port nodes on a dual-stack network, with and without kind's IPv6 flags"
  ((IPV6_N > 0)) || return 0
  docker network inspect "$IPV6_NETWORK" >/dev/null 2>&1 ||
    e2e_quiet docker network create --label "$E2E_LABEL=network" --ipv6 \
      --subnet 172.31.54.0/24 --subnet fd00:54::/64 "$IPV6_NETWORK"
  for ((i = 1; i <= IPV6_N; i++)); do
    E2E_NETWORK=$IPV6_NETWORK run_node "kets-bench-ipv6-relay-$i" "$port" "${IPV6_FLAGS[@]}"
    e2e_rm "kets-bench-ipv6-relay-$i"
    E2E_NETWORK=$IPV6_NETWORK run_node "kets-bench-ipv6-plain-$i" "$port"
    e2e_rm "kets-bench-ipv6-plain-$i"
  done
}

main() {
  e2e_ensure_dockerd
  (cd "$repo" && npm run --silent build) >&2
  local port original="" view
  for view in "${VIEWS[@]}"; do view_args "$view" >/dev/null || exit 2; done
  port="$(E2E_NODE_IMAGE=${BENCH_IMAGE:-kind-entrypoint-ts/node:bench} e2e_node_image)"
  if [[ -n ${KIND_ORIGINAL_ENTRYPOINT:-} ]]; then
    original="$(e2e_original_image)"
  else
    log 'KIND_ORIGINAL_ENTRYPOINT is not set: measuring the port alone'
  fi
  e2e_network

  for view in "${VIEWS[@]}"; do
    bench_view "$view" "$port" "$original"
  done

  local bundle="$repo/dist/entrypoint.js"
  local scale_json="$bench_dir/results/scale.json"
  [[ -f $results/scale.json ]] && scale_json="$results/scale.json"
  local -a docs_args=()
  ((update)) && docs_args=(--docs "$docs")
  "$deno" run -A --no-config "$bench_dir/report.ts" \
    --raw "$raw" --views "${VIEWS[*]}" --n "$N" --trace-n "$TRACE_N" --out "$OUT" \
    --floor-n "$FLOOR_N" --cluster-nodes "$CLUSTER_NODES" --cluster-rounds "$CLUSTER_ROUNDS" \
    --ipv6-n "$IPV6_N" \
    --bundle "$bundle" --image "$port" ${original:+--original-image "$original"} \
    --scale "$scale_json" "${docs_args[@]}"
}

main
