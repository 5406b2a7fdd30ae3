#!/usr/bin/env bash
# Puts the machine back to what it was before the test bed ran (`npm run clean`): removes what
# this project made, found by its labels and names, and nothing else of the machine's:
#   - Docker and podman containers (with their anonymous volumes) and networks labelled
#     kind-entrypoint-ts.e2e, and the images the test bed and `npm run image` built (labelled
#     kind-entrypoint-ts.e2e or kind-entrypoint-ts.build=checkout; never one the package's
#     build-image built, kind-entrypoint-ts.build=package: that is a user's image);
#   - the test bed's egress guard rule in DOCKER-USER, if a run was cut short;
#   - the kind tier's clusters (kets-kind-*: nodes and volumes, Docker's and podman's) and its IPv6
#     egress rule, if a run was cut short;
#   - the `containers:2147483647:2147483648` line, from the files of /etc/subuid and /etc/subgid
#     the podman tier added it to (its marker in the cache says which); a line it found there
#     stays;
#   - with --caches, the download and build caches under ~/.cache/kind-entrypoint-ts
#     (debootstrap's packages, Deno's arm64 build, the arm64 glibc).
# Left as they are: installed Debian packages, dpkg's arm64 architecture, node_modules, dist/.
# Needs root, like the tiers that made these. Docker must be running for its part (`npm run
# setup` starts it); without docker or podman their part is skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

caches=0
for arg in "$@"; do
  case $arg in
    --caches) caches=1 ;;
    *) echo "usage: npm run clean [-- --caches]" >&2; exit 2 ;;
  esac
done
say() { echo "clean: $*"; }

# shellcheck source=../test/e2e/lib.sh
source test/e2e/lib.sh
# shellcheck source=../test/e2e/podman.sh
source test/e2e/podman.sh
# shellcheck source=../test/kind/lib.sh
source test/kind/lib.sh

if ! command -v docker >/dev/null; then
  say "no docker: nothing of Docker's to remove"
elif ! docker info >/dev/null 2>&1; then
  say "dockerd is not running: start it (npm run setup) and run this again"
  exit 1
else
  kind_tier_cleanup
  e2e_cleanup_all --images
  if iptables -n -L DOCKER-USER >/dev/null 2>&1; then e2e_egress_guard_off >/dev/null 2>&1 || true; fi
  say "removed the test bed's containers, networks and images (Docker and podman)"
fi
while IFS= read -r file; do
  say "removed $E2E_SUBID_LINE from $file"
done < <(e2e_subid_remove_added)
if ((caches)); then
  rm -rf "$E2E_CACHE_DIR"
  say "removed $E2E_CACHE_DIR"
fi
