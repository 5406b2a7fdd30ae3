#!/usr/bin/env bash
# Regenerates test/golden/ by running kind's original network magic in the kernel sandbox for every
# scenario and backend (needs root and KIND_ORIGINAL_ENTRYPOINT, the path of kind's entrypoint).
#
#   npm run golden                 # test/golden/<scenario>.<backend>.txt from the original
#   npm run golden -- --port       # also <scenario>.<backend>.port.diff: the current port's changes
#                                  # from the original, for scenarios marked SCN_PORT_DIFFERS, with
#                                  # "# why: TODO" to replace by a reason per group (the test fails
#                                  # while one is left)
#   npm run golden -- SCENARIO...  # only these scenarios
set -o errexit -o nounset -o pipefail

# shellcheck source=kernel/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/kernel/lib.sh"

with_port=0
scenarios=()
for arg in "$@"; do
  case "$arg" in
    --port) with_port=1 ;;
    -*) echo "golden.sh: unknown option ${arg}" >&2 && exit 2 ;;
    *) scenarios+=("$arg") ;;
  esac
done
[[ ${#scenarios[@]} -gt 0 ]] || mapfile -t scenarios < <(scenario_names)

if [[ -z "${KIND_ORIGINAL_ENTRYPOINT:-}" ]]; then
  echo "golden.sh: set KIND_ORIGINAL_ENTRYPOINT to the path of kind's entrypoint script" >&2
  exit 2
fi
if [[ "$(id -u)" != 0 ]]; then
  echo "golden.sh: needs root (network namespaces, mounts, iptables)" >&2
  exit 2
fi

mkdir -p "$GOLDEN_DIR"
for scenario in "${scenarios[@]}"; do
  for backend in $(scenario_var "$scenario" SCN_BACKENDS); do
    out="$(golden_file "$scenario" "$backend")"
    run_sandbox original "$scenario" "$backend" >"${out}.tmp"
    mv "${out}.tmp" "$out"
    echo "wrote ${out#"${REPO_DIR}/"}"
    if [[ "$with_port" == 1 && -n "$(scenario_var "$scenario" SCN_PORT_DIFFERS)" ]]; then
      original="$out"
      out="$(golden_file "$scenario" "$backend" port)"
      run_sandbox port "$scenario" "$backend" >"${out}.blob"
      {
        echo "# Expected differences of the port from kind's original in scenario ${scenario} (${backend}):"
        echo "# \"-\" lines are the original's state, \"+\" lines the port's, each group with its reason."
        echo "# Checked by test/kernel/network_magic.bats against the live original or ${original#"${REPO_DIR}/"}."
        echo
        echo "# why: TODO"
        blob_changes "$original" "${out}.blob"
      } >"$out"
      rm -f "${out}.blob"
      echo "wrote ${out#"${REPO_DIR}/"} (from the port: give each group its reason)"
    fi
  done
done
