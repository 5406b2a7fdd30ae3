#!/usr/bin/env bash
# Runs every fault scenario with kind's original (KIND_ORIGINAL_ENTRYPOINT) and with the port, and
# writes docs/reliability.md from the results. Needs root and `npm run build` first.
#
#   KIND_ORIGINAL_ENTRYPOINT=/path/to/entrypoint test/faults/report.sh [--results DIR] [OUT]
#
# --results DIR keeps the sandbox blobs there (and reuses those already present, so a report can be
# re-rendered without running anything); OUT defaults to docs/reliability.md.
set -o errexit -o nounset -o pipefail

FAULTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "${FAULTS_DIR}/../.." && pwd)"
# shellcheck source=test/faults/check.sh
source "${FAULTS_DIR}/check.sh"

results=""
if [[ "${1:-}" == --results ]]; then
  results=$2
  shift 2
fi
out="${1:-${REPO}/docs/reliability.md}"
[[ -n "${KIND_ORIGINAL_ENTRYPOINT:-}" ]] || {
  echo "report.sh: set KIND_ORIGINAL_ENTRYPOINT to kind's entrypoint: the report compares both" >&2
  exit 2
}
if [[ -z "$results" ]]; then
  results="$(mktemp -d)"
  trap 'rm -rf "$results"' EXIT
fi
mkdir -p "$results"

# ---------------------------------------------------------------------------------------------
# run

names=()
mapfile -t names < <(scenario_names)
for name in "${names[@]}"; do
  load_scenario "${FAULTS_DIR}/scenarios/${name}.sh"
  pids=()
  for impl in original port; do
    blob="${results}/${name}.${impl}.txt"
    [[ -s "$blob" ]] && continue
    if [[ "$impl" == original && -n "$FLT_ORIGINAL_SAME_AS" ]]; then continue; fi
    echo "report.sh: ${impl} ${name}" >&2
    # both at once: the sandboxes share nothing, and most of a fault's time is spent waiting
    run_scenario "$impl" "$name" "$blob" &
    pids+=("$!")
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
done

# ---------------------------------------------------------------------------------------------
# render

# md TEXT: TEXT safe inside a table cell. Text between backticks stays a code span (commands);
# elsewhere the characters markdown would read are escaped.
md() {
  local text=$1 out="" part i=0 ticks
  local -a parts
  ticks="${text//[^\`]/}"
  if ((${#ticks} % 2)); then
    # an odd number of backticks (such as `iptables-restore -h') makes no code span at all
    part="$(md_plain "$text")"
    printf '%s' "${part//\`/\\\`}"
    return
  fi
  IFS='`' read -r -a parts <<<"${text}"$'\x01'
  parts[-1]="${parts[-1]%$'\x01'}"
  for part in "${parts[@]}"; do
    if ((i % 2 == 0)); then out+="$(md_plain "$part")"; else out+="\`${part//|/\\|}\`"; fi
    i=$((i + 1))
  done
  printf '%s' "$out"
}

md_plain() {
  local part=$1 lt='&lt;'
  part=${part//\\/\\\\}
  part=${part//|/\\|}
  part=${part//</"$lt"}
  part=${part//\*/\\*}
  printf '%s' "$part"
}

clip() {
  local text=$1 max=${2:-220}
  if ((${#text} > max)); then text="${text:0:max}…"; fi
  printf '%s' "$text"
}

# stderr_lines BLOB: the run's stderr without iptables' own "# Warning" lines.
stderr_lines() { blob_section "$1" stderr | grep -v '^# Warning: ' | grep -v '^(empty)$' || true; }

# changed_watched BLOB: which of the scenario's must-stay files and rules changed.
changed_watched() {
  local blob=$1 f line changed=()
  for f in $FLT_UNCHANGED; do
    if [[ "$f" == rules ]]; then
      [[ "$(blob_section "$blob" rules)" == unchanged ]] || changed+=(rules)
    else
      line="$(blob_section "$blob" "files (before -> after)" | grep -F "${f}: " || true)"
      [[ "$line" == "${f}: unchanged"* ]] || changed+=("$f")
    fi
  done
  printf '%s' "${changed[*]:-}"
}

# extra_sections BLOB: the scenario's own report sections, one line each.
extra_sections() {
  awk '/^## kubeadm calls$/ { after = 1; next } after' "$1" | awk '
    /^## / { if (name != "") print name ": " body; name = substr($0, 4); body = ""; next }
    NF { body = body (body == "" ? "" : "; ") $0 }
    END { if (name != "") print name ": " body }'
}

# cell IMPL BLOB: one table cell describing a run.
cell() {
  local impl=$1 blob=$2 status errors warn last damage changed parts=() extra ms
  status="$(blob_section "$blob" "exit status")"
  ms="$(blob_section "$blob" "duration ms")"
  errors="$(stderr_lines "$blob" | grep '^ERROR: ' || true)"
  warn="$(stderr_lines "$blob" | grep '^WARN: ' | head -n 1 || true)"
  last="$(stderr_lines "$blob" | grep -v '^INFO: starting init$' | tail -n 1)"
  if [[ "$status" == hung* ]]; then
    parts+=("**${status}**")
  else
    local took=""
    ((ms < 1000)) || took=" after $((ms / 1000)).$(((ms % 1000) / 100)) s"
    parts+=("**exit ${status}**${took}, init $(blob_section "$blob" init)")
  fi
  if [[ -n "$errors" ]]; then
    parts+=("$(md "$(clip "$(tail -n 1 <<<"$errors")" 400)")")
  elif [[ -n "$warn" ]]; then
    parts+=("$(md "$(clip "$warn")")")
  elif [[ "$status" != 0 && -n "$last" ]]; then
    parts+=("last line: $(md "$(clip "$last")")")
  fi
  damage="$(blob_section "$blob" damage)"
  if [[ "$damage" != "(none)" ]]; then parts+=("**$(md "$(tr '\n' ';' <<<"$damage" | sed 's/;$//')")**"); fi
  changed="$(changed_watched "$blob")"
  [[ -z "$changed" ]] || parts+=("changed: $(md "$changed")")
  while IFS= read -r extra; do
    [[ -z "$extra" ]] || parts+=("$(md "$(clip "$extra" 400)")")
  done < <(extra_sections "$blob")
  local IFS=$'\x1f'
  local joined="${parts[*]}"
  printf '%s' "${joined//$'\x1f'/<br>}"
}

total=0
declare -A hung=([original]=0 [port]=0) lost=([original]=0 [port]=0) unclear=([original]=0 [port]=0)
declare -A kept=([original]=0 [port]=0)
met=0
rows=()
for name in "${names[@]}"; do
  load_scenario "${FAULTS_DIR}/scenarios/${name}.sh"
  total=$((total + 1))
  original_blob="${results}/${name}.original.txt"
  [[ -z "$FLT_ORIGINAL_SAME_AS" ]] || original_blob="${results}/${FLT_ORIGINAL_SAME_AS}.original.txt"
  for impl in original port; do
    blob="${results}/${name}.${impl}.txt"
    [[ "$impl" == port ]] || blob=$original_blob
    [[ "$impl" == port || -z "$FLT_ORIGINAL_SAME_AS" ]] || continue
    status="$(blob_section "$blob" "exit status")"
    [[ "$status" != hung* ]] || hung[$impl]=$((hung[$impl] + 1))
    damage="$(blob_section "$blob" damage)"
    [[ "$damage" == "(none)" ]] || lost[$impl]=$((lost[$impl] + $(grep -c . <<<"$damage")))
    if [[ "$status" != 0 && "$(stderr_lines "$blob" | grep -c '^ERROR: ')" != 1 ]]; then
      unclear[$impl]=$((unclear[$impl] + 1))
    fi
    [[ -z "$(changed_watched "$blob")" ]] || kept[$impl]=$((kept[$impl] + 1))
  done
  if check_port "$name" "${results}/${name}.port.txt" >/dev/null; then met=$((met + 1)); else
    check_port "$name" "${results}/${name}.port.txt" >&2 || true
  fi
  load_scenario "${FAULTS_DIR}/scenarios/${name}.sh"
  steps="${FLT_STEPS:-all}"
  original_cell="$(cell original "$original_blob")"
  [[ -z "$FLT_ORIGINAL_SAME_AS" ]] || original_cell="as in ${FLT_ORIGINAL_SAME_AS}"
  rows+=("| ${name} | $(md "$FLT_TITLE") | ${steps//,/, } | ${original_cell} | $(cell port "${results}/${name}.port.txt") |")
done

{
  cat <<EOF
# Reliability: bad input and faults

<!-- Generated by test/faults/report.sh from test/faults/scenarios/; do not edit by hand. -->

This page shows, scenario by scenario, what kind's script and the port do when a command, a file,
the environment or a signal goes wrong, and counts the hangs, lost files and unexplained failures.

Every row is one scenario of \`test/faults/\`: the whole entrypoint (or the steps named) of kind's
original and of the port, each in a throwaway node-like sandbox on the real kernel
(\`test/faults/sandbox.sh\`: PID, network, mount and UTS namespaces over an overlay of the root),
with one fault planted: a command missing from \`PATH\`, a wrapper earlier in \`PATH\` that fails,
hangs or prints garbage, a broken file, a hostile environment value, a signal. The same scenarios
are asserted by \`test/faults/faults.bats\`.

- The port runs with \`KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS=1500\` (its built-in bound is 10 s; one
  scenario shows that) so the suite stays fast. A run still going after 4 s (longer where the
  scenario waits on purpose) is killed with everything it started and shown as **hung**.
- **lost** / **truncated**: a file that had content before the run and is now gone or empty, or has
  lost its final newline or its nameserver lines (half written). \`changed:\` lists what the
  scenario requires to stay as it was (files, or \`rules\`: the nat tables) and changed anyway.
- The cell shows the exit status, whether init was started, the \`ERROR:\` line (else the first
  \`WARN:\` line, else the last line the run printed) and what the scenario reports of its own.

## Summary

| | original | port |
| --- | --- | --- |
| scenarios | ${total} | ${total} |
| hung | ${hung[original]} | ${hung[port]} |
| files lost or truncated | ${lost[original]} | ${lost[port]} |
| scenarios that changed a file or the rules that must stay as they were | ${kept[original]} | ${kept[port]} |
| failed without exactly one \`ERROR:\` line | ${unclear[original]} | ${unclear[port]} |
| expectations of faults.bats met | n/a | ${met} of ${total} |

## Scenarios

| scenario | fault | steps | original | port |
| --- | --- | --- | --- | --- |
EOF
  printf '%s\n' "${rows[@]}"
} >"$out"
# the repository's formatter (through stdin: deno.json leaves Markdown out of `deno fmt`), so the
# tables stay aligned
"${DENO:-${REPO}/node_modules/.bin/deno}" fmt --ext md - <"$out" >"${out}.fmt"
mv "${out}.fmt" "$out"
echo "report.sh: wrote ${out#"${REPO}/"} (${total} scenarios)" >&2
