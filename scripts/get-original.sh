#!/usr/bin/env bash
# Downloads kind's own entrypoint script, at the commit this port follows, into
# .cache/kind-original/entrypoint (ignored by git; never commit it) and prints the line that
# points the tests at it: `eval "$(bash scripts/get-original.sh)"`. With it set, the tests run
# kind's script side by side with the port instead of skipping those comparisons.
#
# Needs network access to raw.githubusercontent.com; offline it fails with one line.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly KIND_COMMIT=fed268827e21ca48a74c38215c316dd343364ef5
readonly URL="https://raw.githubusercontent.com/kubernetes-sigs/kind/$KIND_COMMIT/images/base/files/usr/local/bin/entrypoint"
# sha256 of the file at that commit, so a truncated or changed download is refused.
readonly SHA256=d9fce9a15f585727d51417225d548ffc301e1ff77a7517ead472e5e91873a1eb
readonly DEST="$repo/.cache/kind-original/entrypoint"

main() {
  local tmp error
  mkdir -p "${DEST%/*}"
  tmp="$(mktemp "${DEST%/*}/.entrypoint.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -f '$tmp'" EXIT
  if ! error="$(curl -fsS --connect-timeout 10 --max-time 60 -o "$tmp" "$URL" 2>&1)"; then
    echo "get-original: cannot download $URL: ${error//$'\n'/ }" >&2
    return 1
  fi
  if [[ "$(sha256sum "$tmp" | cut -d' ' -f1)" != "$SHA256" ]]; then
    echo "get-original: the download from $URL does not have the expected sha256 $SHA256" >&2
    return 1
  fi
  chmod 0644 "$tmp"
  mv "$tmp" "$DEST"
  echo "get-original: kind's entrypoint at $KIND_COMMIT is in $DEST; for the tests:" >&2
  echo "export KIND_ORIGINAL_ENTRYPOINT=$DEST"
}

main "$@"
