#!/usr/bin/env bash
# Runs the test tiers and prints one closing line with the counts of all of them.
#   test/run.sh            every tier: unit, kernel (bats on real namespaces), faults (bad input and
#                          faults, test/faults/), e2e (containers, Docker and podman), arm64
#                          (the FFI layer under qemu-aarch64, test/arm64/), kind (kind's own CLI
#                          creates the nodes, test/kind/; after e2e)
#   test/run.sh unit ...   only the named tiers
set -euo pipefail
cd "$(dirname "$0")/.."

export NO_COLOR=1
DENO=node_modules/.bin/deno
BATS=node_modules/bats/bin/bats
tiers=("$@")
[[ ${#tiers[@]} -gt 0 ]] || tiers=(unit kernel faults e2e kind arm64)

passed=0 failed=0 skipped=0
summary=()

# Adds the counts of a bats TAP stream (file $1) to the totals.
count_tap() {
  local p f s
  p=$(grep -cE '^ok [0-9]+' "$1" || true)
  s=$(grep -cE '^ok [0-9]+ .*# skip' "$1" || true)
  f=$(grep -cE '^not ok [0-9]+' "$1" || true)
  passed=$((passed + p - s)) failed=$((failed + f)) skipped=$((skipped + s))
  result="$((p - s)) passed, $f failed, $s skipped"
}

run_unit() {
  local log status=0
  log=$(mktemp)
  node scripts/build.mjs
  # Style is part of the contract: lint and formatting problems fail the tier like a test.
  local style=0
  "$DENO" lint -q || style=1
  "$DENO" fmt --check -q || style=1
  # Without deno's "Check FILE" line per test file (-q would also hide the tests' own output).
  "$DENO" test -A 2>&1 | { grep --line-buffered -vE '^Check [^ ]+\.ts$' || true; } |
    tee "$log" || status=$?
  local line p f i
  line=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -1 || true)
  p=$(sed -E 's/.*\| ([0-9]+) passed.*/\1/' <<<"$line")
  f=$(sed -E 's/.*\| ([0-9]+) failed.*/\1/' <<<"$line")
  # Deno's "ignored": tests that need what this machine lacks (kind's original, a tool).
  i=$(sed -nE 's/.*\| ([0-9]+) ignored.*/\1/p' <<<"$line")
  i=${i:-0}
  skipped=$((skipped + i))
  [[ -n $line ]] || { p=0; f=1; }
  [[ $status -eq 0 || $f -gt 0 ]] || f=1
  passed=$((passed + p)) failed=$((failed + f + style))
  rm -f "$log"
  result="$p passed, $f failed, $i skipped"
  ((style == 0)) || result="$result; deno lint or fmt --check failed"
}

run_bats() {
  local log files=("$@") status=0
  log=$(mktemp)
  "$BATS" --tap "${files[@]}" 2>&1 | tee "$log" || status=$?
  count_tap "$log"
  if [[ $status -ne 0 ]] && ! grep -qE '^not ok' "$log"; then
    failed=$((failed + 1))
    result="$result (bats itself failed with status $status)"
  fi
  rm -f "$log"
}

for tier in "${tiers[@]}"; do
  start=$(date +%s) result=""
  echo "=== tier $tier"
  case $tier in
    unit) run_unit ;;
    kernel)
      mapfile -t files < <(ls test/kernel/*.bats 2>/dev/null)
      if [[ ${#files[@]} -eq 0 ]]; then result="no bats files"; else
        node scripts/build.mjs
        run_bats "${files[@]}"
      fi ;;
    faults)
      # bad input and faults, port (and kind's original when KIND_ORIGINAL_ENTRYPOINT is set)
      node scripts/build.mjs
      run_bats test/faults/faults.bats ;;
    e2e)
      mapfile -t files < <(ls test/e2e/*.bats 2>/dev/null)
      if [[ ${#files[@]} -eq 0 ]]; then result="no bats files"; else
        node scripts/build.mjs
        rm -f "${TMPDIR:-/tmp}/kind-entrypoint-ts-e2e-results.md"
        run_bats "${files[@]}"
        cat "${TMPDIR:-/tmp}/kind-entrypoint-ts-e2e-results.md" 2>/dev/null || true
      fi ;;
    kind)
      # kind's own CLI creates clusters from the test bed's images (test/kind/)
      node scripts/build.mjs
      run_bats test/kind/kind.bats ;;
    arm64)
      # Deno's arm64 build and an arm64 glibc under qemu-aarch64 (fetched into a cache dir)
      run_bats test/arm64/arm64.bats ;;
    *) echo "unknown tier: $tier (known: unit kernel faults e2e kind arm64)" >&2; exit 2 ;;
  esac
  summary+=("$(printf '%-7s %4ss  %s' "$tier" "$(($(date +%s) - start))" "$result")")
done

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
# Skips are otherwise a dead end: most of them need kind's script, which is not in the repository.
if ((skipped > 0)) && [[ -z ${KIND_ORIGINAL_ENTRYPOINT:-} ]]; then
  echo "most skips compare with kind's own script: docs/testing.md, \"Comparing with kind's script\", says how to run them"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
[[ $failed -eq 0 ]]
