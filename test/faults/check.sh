#!/usr/bin/env bash
# Runs fault scenarios and checks the port's (and the original's) outcome against the scenario's
# expectations. Sourced by faults.bats and report.sh.

FAULTS_CHECK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/faults/lib.sh
source "${FAULTS_CHECK_DIR}/lib.sh"

# run_scenario IMPL NAME OUT: the sandbox's blob in OUT.
run_scenario() {
  bash "${FAULTS_CHECK_DIR}/sandbox.sh" "$1" "$2" >"$3"
}

# blob_section BLOB NAME: the lines of one "## NAME" section.
blob_section() {
  awk -v want="## $2" '/^## / { inside = ($0 == want); next } inside { print }' "$1" |
    sed -e '1{/^$/d}' | sed -e '${/^$/d}'
}

# error_lines BLOB: the ERROR: lines a run printed.
error_lines() { blob_section "$1" stderr | grep '^ERROR: ' || true; }

# check_port NAME BLOB: prints one line per unmet expectation; status 1 if any.
check_port() {
  local name=$1 blob=$2 problems=() status errors f before_after line
  load_scenario "${FAULTS_CHECK_DIR}/scenarios/${name}.sh"
  status="$(blob_section "$blob" "exit status")"
  [[ "$status" == "$FLT_PORT_STATUS" ]] || problems+=("exit status ${status}, expected ${FLT_PORT_STATUS}")
  errors="$(error_lines "$blob")"
  if [[ -z "$FLT_PORT_ERROR" ]]; then
    [[ -z "$errors" ]] || problems+=("unexpected ERROR line(s): ${errors}")
  elif [[ "$errors" != "$FLT_PORT_ERROR" ]]; then
    problems+=("ERROR line(s): ${errors:-(none)}" "expected:      ${FLT_PORT_ERROR}")
  fi
  if [[ -n "$FLT_PORT_WARN" ]] && ! blob_section "$blob" stderr | grep -qxF -- "$FLT_PORT_WARN"; then
    problems+=("missing WARN line: ${FLT_PORT_WARN}")
  fi
  [[ "$(blob_section "$blob" init)" == "$FLT_PORT_INIT" ]] ||
    problems+=("init $(blob_section "$blob" init), expected ${FLT_PORT_INIT}")
  for f in $FLT_UNCHANGED; do
    if [[ "$f" == rules ]]; then
      [[ "$(blob_section "$blob" rules)" == unchanged ]] || problems+=("rules changed")
    else
      before_after="$(blob_section "$blob" "files (before -> after)" | grep -F "${f}: ")"
      [[ "$before_after" == "${f}: unchanged"* ]] || problems+=("changed: ${before_after}")
    fi
  done
  [[ "$(blob_section "$blob" damage)" == "(none)" ]] ||
    problems+=("damage: $(blob_section "$blob" damage | tr '\n' ';')")
  while IFS= read -r line; do
    [[ -z "$line" ]] || grep -qxF -- "$line" "$blob" || problems+=("missing line: ${line}")
  done <<<"$FLT_PORT_EXPECT_LINES"
  while IFS= read -r line; do
    [[ -z "$line" ]] || ! grep -qxF -- "$line" "$blob" || problems+=("unwanted line: ${line}")
  done <<<"$FLT_PORT_REJECT_LINES"
  if [[ ${#problems[@]} -gt 0 ]]; then
    printf 'port, scenario %s:\n' "$name"
    printf '  %s\n' "${problems[@]}"
    return 1
  fi
}

# check_original NAME BLOB: the original's status (and damage, where the scenario names it).
check_original() {
  local name=$1 blob=$2 problems=() status line
  load_scenario "${FAULTS_CHECK_DIR}/scenarios/${name}.sh"
  status="$(blob_section "$blob" "exit status")"
  if [[ "$FLT_ORIGINAL_STATUS" == hung ]]; then
    [[ "$status" == hung* ]] || problems+=("exit status ${status}, expected a hang")
  elif [[ "$status" != "$FLT_ORIGINAL_STATUS" ]]; then
    problems+=("exit status ${status}, expected ${FLT_ORIGINAL_STATUS}")
  fi
  if [[ -n "$FLT_ORIGINAL_DAMAGE" ]] && ! blob_section "$blob" damage | grep -q -- "^${FLT_ORIGINAL_DAMAGE}"; then
    problems+=("expected damage '${FLT_ORIGINAL_DAMAGE}', got: $(blob_section "$blob" damage | tr '\n' ';')")
  fi
  while IFS= read -r line; do
    [[ -z "$line" ]] || grep -qxF -- "$line" "$blob" || problems+=("missing line: ${line}")
  done <<<"$FLT_ORIGINAL_EXPECT_LINES"
  if [[ ${#problems[@]} -gt 0 ]]; then
    printf 'original, scenario %s:\n' "$name"
    printf '  %s\n' "${problems[@]}"
    return 1
  fi
}
