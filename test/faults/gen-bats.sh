#!/usr/bin/env bash
# Rewrites the one-test-per-scenario part of faults.bats from the scenario files (titles without
# the characters bats cannot take in a test name).
set -o errexit -o nounset -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=test/faults/lib.sh
source lib.sh
{
  sed -n '1,/^# ---- one test per scenario/p' faults.bats
  for name in $(scenario_names); do
    load_scenario "scenarios/${name}.sh"
    title=$(tr -d "\"'\\\\\$\`" <<<"$FLT_TITLE")
    printf '\n@test "%s: %s" {\n  check_fault %s\n}\n' "$name" "$title" "$name"
  done
} >faults.bats.new
mv faults.bats.new faults.bats
