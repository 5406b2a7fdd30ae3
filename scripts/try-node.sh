#!/usr/bin/env bash
# Starts one node from the image `npm run image` built, without kind (`npm run try-node`), waits
# until systemd has booted, and prints the entrypoint's log lines. The node is left running for
# you to look at; remove it with `docker rm -f -v NAME`.
#
#   scripts/try-node.sh [NAME] [docker run options...]
#   e.g. scripts/try-node.sh try-node -e KIND_DNS_SEARCH=example.test
#
# NAME defaults to try-node. The options go to `docker run` before the image, so configuration
# variables are passed as `-e VAR=value`. The node gets the container test bed's flags
# (test/e2e/lib.sh): kind's, except that `--privileged`, which some hosts refuse, is replaced by
# the capabilities it needs plus a small shim that makes the cgroup mounts writable before the
# entrypoint starts; it joins the network kets-e2e, which gives it Docker's embedded DNS.
#
# Env: IMAGE (default: the tag `npm run image` built last), BOOT_TIMEOUT seconds (default 60),
#      TRY_NODE_QUIET=1 (no closing hints; for images/boot-once.sh).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../test/e2e/lib.sh
source "$repo/test/e2e/lib.sh"

name=try-node
if (($#)) && [[ $1 != -* ]]; then
  name=$1
  shift
fi
image=${IMAGE:-$(cat "$repo/.cache/image-tag" 2>/dev/null || echo kind-entrypoint-ts/node:latest)}

say() { echo "try-node: $*"; }

e2e_image_exists "$image" || {
  say "no image $image: build it first with \`npm run image\` (or set IMAGE)" >&2
  exit 1
}
e2e_ensure_dockerd
say "starting $name from $image"
e2e_run_node "$name" "$image" "$@" >/dev/null
# On failure the wait has already printed the node's last log lines, once.
if ! e2e_wait_booted "$name" "${BOOT_TIMEOUT:-60}"; then
  say "$name did not reach Multi-User System (still there for you to inspect: docker rm -f -v $name)" >&2
  exit 1
fi
e2e_logs "$name" | grep -E '^(INFO|WARN|ERROR): |Reached target .*Multi-User System'
say "$name booted: the entrypoint ran and systemd reached Multi-User System"
if [[ "$(docker image inspect -f '{{index .Config.Labels "kind-entrypoint-ts.standin"}}' "$image")" == true ]]; then
  say "WARNING: $image is the offline stand-in, NOT a kind node image (no kubelet): do not pass it to kind" >&2
fi
[[ ${TRY_NODE_QUIET:-} == 1 ]] || cat <<EOF
try-node: next:
  docker exec -it $name bash                                                  # look around
  docker exec -e KIND_ENTRYPOINT_DRY_RUN=1 $name /usr/local/bin/entrypoint true  # what a second run would do
  docker rm -f -v $name                                                       # remove it and its /var volume
EOF
