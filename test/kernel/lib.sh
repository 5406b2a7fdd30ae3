#!/usr/bin/env bash
# Helpers shared by test/golden.sh and the kernel-tier bats tests.

KERNEL_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "${KERNEL_LIB_DIR}/../.." && pwd)"
GOLDEN_DIR="${REPO_DIR}/test/golden"

# scenario_names prints every scenario name, sorted.
scenario_names() {
  local f
  for f in "${KERNEL_LIB_DIR}"/scenarios/*.sh; do basename "$f" .sh; done | LC_ALL=C sort
}

# scenario_var NAME VAR prints a variable a scenario file sets (empty if it does not).
scenario_var() {
  (
    # shellcheck disable=SC2034 # scenarios append to it
    SCN_HOSTS=""
    # shellcheck source=/dev/null
    source "${KERNEL_LIB_DIR}/scenarios/$1.sh"
    printf '%s' "${!2:-}"
  )
}

# golden_file SCENARIO BACKEND [port] prints the golden path: the original's output, or (with
# "port") the reviewed changes from it that the port makes where it deliberately differs.
golden_file() {
  if [[ "${3:-}" == port ]]; then
    echo "${GOLDEN_DIR}/$1.$2.port.diff"
  else
    echo "${GOLDEN_DIR}/$1.$2.txt"
  fi
}

# run_sandbox IMPL SCENARIO BACKEND: the sandbox's state blob on stdout.
run_sandbox() {
  bash "${KERNEL_LIB_DIR}/sandbox.sh" "$@"
}

# blob_changes ORIGINAL PORT: the lines that differ between two state blobs, each prefixed by its
# section ("## NAME | line"), as "-" (only in the original's) and "+" (only in the port's) lines.
blob_changes() {
  local label='/^## / { section = $0; next } { print section " | " $0 }'
  diff -U0 <(awk "$label" "$1") <(awk "$label" "$2") | grep -E '^[-+]' | grep -vE '^(---|\+\+\+) ' || true
}

# expected_changes FILE: the "-"/"+" lines of a reviewed .port.diff file (comments and blank lines
# dropped).
expected_changes() {
  grep -E '^[-+]' "$1" || true
}
