#!/usr/bin/env bash
# Boots the node image once and shows that the entrypoint hands over to systemd: the second
# half of `npm run image`. The node runs with the test bed's flags (test/e2e/lib.sh), which stand
# in for kind's `--privileged` where that is not available, and is removed afterwards.
#
# Env: IMAGE (default kind-entrypoint-ts/node:latest), BOOT_TIMEOUT seconds (default 60).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../test/e2e/lib.sh
source "$repo/test/e2e/lib.sh"

image=${IMAGE:-kind-entrypoint-ts/node:latest}
node=kets-boot-once-$$
trap 'e2e_rm "$node" >/dev/null 2>&1 || true' EXIT

e2e_ensure_dockerd
echo "boot-once: starting a node from $image"
e2e_run_node "$node" "$image" >/dev/null 2> >(grep -v "Localhost DNS" >&2)
if e2e_wait_booted "$node" "${BOOT_TIMEOUT:-60}"; then
  e2e_logs "$node" | grep -E '^(INFO|WARN|ERROR): |Reached target .*Multi-User System'
  echo "boot-once: $image booted: the entrypoint ran and systemd reached Multi-User System"
else
  e2e_logs "$node" | tail -40
  echo "boot-once: $image did not reach Multi-User System" >&2
  exit 1
fi
