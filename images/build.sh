#!/usr/bin/env bash
# Builds the kind node image with kind-entrypoint-ts (`npm run image`).
#
# Env:
#   IMAGE       tag to build (default kind-entrypoint-ts/node:latest)
#   BASE_IMAGE  kind node image to build on (default: the Dockerfile's, kind v0.32.0's node image)
#   DENO_IMAGE  image with the Deno binary at /deno (default: the Dockerfile's denoland/deno:bin-*)
#   BUNDLE      bundle to put in the image (default dist/entrypoint.js, rebuilt when stale)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly repo

# Prints success if the bundle is missing or older than any source it is built from.
bundle_is_stale() {
  local bundle=$1
  [[ -f $bundle ]] || return 0
  [[ -n "$(find "$repo/entrypoint.ts" "$repo/lib" "$repo/package-lock.json" "$repo/scripts" \
    -newer "$bundle" -print -quit 2>/dev/null)" ]]
}

main() {
  local image=${IMAGE:-kind-entrypoint-ts/node:latest}
  local bundle=${BUNDLE:-$repo/dist/entrypoint.js}
  local -a args=(-t "$image" -f images/Dockerfile --label kind-entrypoint-ts.image=node)
  [[ -n ${BASE_IMAGE:-} ]] && args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
  [[ -n ${DENO_IMAGE:-} ]] && args+=(--build-arg "DENO_IMAGE=$DENO_IMAGE")

  if [[ -z ${BUNDLE:-} ]] && bundle_is_stale "$bundle"; then
    (cd "$repo" && npm run --silent build)
  fi
  [[ -f $bundle ]] || { echo "build.sh: no bundle at $bundle" >&2; return 1; }

  # A context of just the files the Dockerfile copies: sending the repo would send
  # node_modules (hundreds of MB) to the daemon on every build.
  local ctx
  ctx="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$ctx'" EXIT
  mkdir -p "$ctx/images" "$ctx/dist"
  cp "$repo/images/Dockerfile" "$repo/images/entrypoint" "$ctx/images/"
  cp "$bundle" "$ctx/dist/entrypoint.js"
  # --force-rm: the legacy builder otherwise leaves the container of a failed RUN behind.
  docker build --force-rm "${args[@]}" "$ctx"
}

main "$@"
