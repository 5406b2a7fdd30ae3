#!/usr/bin/env bash
# Builds the kind node image with kind-entrypoint-ts (`npm run image`).
#
# Env:
#   IMAGE       tag to build (default kind-entrypoint-ts/node:latest)
#   BASE_IMAGE  kind node image to build on (default: the Dockerfile's, kind v0.32.0's node image)
#   DENO_IMAGE  image with the Deno binary at /deno (default: the Dockerfile's denoland/deno:bin-*)
#   BUNDLE      bundle to put in the image (default dist/entrypoint.js, rebuilt when stale)
#
# Without network access to Docker Hub (and no BASE_IMAGE/DENO_IMAGE given), the default images
# cannot be pulled; the build then uses the test bed's offline stand-ins (a debootstrapped Debian
# with systemd, and Deno from node_modules) and says so. Such an image boots like a kind node but
# has no kubelet: for kind itself, build where kindest/node can be pulled.
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

# Succeeds when the Dockerfile's default base and Deno images are present or can be pulled.
default_images_available() {
  local ref
  for ref in $(sed -nE 's/^ARG (BASE|DENO)_IMAGE=(.*)$/\2/p' "$repo/images/Dockerfile"); do
    docker image inspect "$ref" >/dev/null 2>&1 && continue
    timeout 120 docker pull -q "$ref" >/dev/null 2>&1 || return 1
  done
}

main() {
  local image=${IMAGE:-kind-entrypoint-ts/node:latest}
  local bundle=${BUNDLE:-$repo/dist/entrypoint.js}
  if [[ -z ${BASE_IMAGE:-} && -z ${DENO_IMAGE:-} ]] && ! default_images_available; then
    echo "build.sh: cannot pull kindest/node or denoland/deno (offline?): building on the test bed's offline stand-ins" >&2
    # shellcheck source=../test/e2e/lib.sh
    source "$repo/test/e2e/lib.sh"
    e2e_ensure_dockerd
    BASE_IMAGE="$(e2e_base_image)"
    DENO_IMAGE="$(e2e_deno_image)"
  fi
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
