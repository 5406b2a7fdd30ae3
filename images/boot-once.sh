#!/usr/bin/env bash
# Boots the node image once and shows that the entrypoint hands over to systemd: the second
# half of `npm run image`. The node is started by scripts/try-node.sh (the test bed's flags,
# which stand in for kind's `--privileged` where that is not available) and removed afterwards.
#
# Env: IMAGE (default: the tag `npm run image` built last, from .cache/image-tag),
#      BOOT_TIMEOUT seconds (default 60).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
node=kets-boot-once-$$
trap 'docker rm -f -v "$node" >/dev/null 2>&1 || true' EXIT

TRY_NODE_QUIET=1 bash "$repo/scripts/try-node.sh" "$node"
