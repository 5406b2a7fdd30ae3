#!/usr/bin/env bash
# Builds the kind node image with kind-entrypoint-ts (`npm run image`).
#
# Env:
#   ENTRY       a custom entrypoint (a TypeScript file built on mod.ts, relative to where the
#               command was started): bundled with the project's settings (scripts/build.mjs)
#               into the image instead of dist/entrypoint.js
#   IMAGE       tag to build (default kind-entrypoint-ts/node:latest; on the offline stand-ins
#               kind-entrypoint-ts/standin-not-for-kind:latest; with ENTRY,
#               kind-entrypoint-ts/custom-NAME:latest or custom-NAME-standin-not-for-kind, NAME
#               from the entry's directory or file name)
#   BASE_IMAGE  kind node image to build on (default: the Dockerfile's, kind v0.32.0's node image)
#   DENO_IMAGE  image with the Deno binary at /deno (default: the Dockerfile's denoland/deno:bin-*)
#   BUNDLE      bundle to put in the image (default dist/entrypoint.js, rebuilt when stale)
#
# Without network access to Docker Hub (and no BASE_IMAGE/DENO_IMAGE given), the default images
# cannot be pulled; the build then uses the test bed's offline stand-ins (a debootstrapped Debian
# with systemd, and Deno from node_modules). That image boots the entrypoint and systemd but has
# no kubelet, kubeadm or containerd, so it gets a tag that cannot be taken for a kind node image
# and the build ends with a warning saying so. For kind itself, build where kindest/node can be
# pulled.
#
# Without IMAGE, the tag chosen is written to .cache/image-tag, where images/boot-once.sh and
# scripts/try-node.sh find it (builds with an explicit IMAGE, such as the test bed's, leave it).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly repo
readonly NODE_TAG=kind-entrypoint-ts/node:latest
readonly STANDIN_TAG=kind-entrypoint-ts/standin-not-for-kind:latest
# The label test/e2e/base-image.sh puts on the debootstrap stand-in.
readonly STANDIN_LABEL=kind-entrypoint-ts.e2e

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

# Succeeds when image $1 is the test bed's debootstrap stand-in, which has no kubelet.
is_standin_base() {
  local label
  label="$(docker image inspect -f "{{index .Config.Labels \"$STANDIN_LABEL\"}}" "$1" 2>/dev/null)" ||
    return 1
  [[ -n $label && $label != '<no value>' ]]
}

# Copies stdin to stdout without the legacy builder's deprecation paragraph: BuildKit needs the
# buildx plugin, which Debian's docker.io does not ship, so newer clients print it on every build.
without_builder_banner() {
  awk '/^DEPRECATED: The legacy builder/ { skip = 1; next }
       skip && (/^ / || /^$/) { if (/^$/) skip = 0; next }
       { skip = 0; print; fflush() }'
}

# docker build, its stderr without the banner; keeps docker's exit status.
docker_build() {
  { docker build "$@" 2>&1 1>&3 3>&- | without_builder_banner >&2; } 3>&1
}

# Ends the build with a warning that cannot be missed: image $1 boots, but kind cannot use it.
warn_standin() {
  local line=========================================================================
  cat >&2 <<EOF

build.sh: $line
build.sh: WARNING: $1 is NOT a kind node image.
build.sh: It is built on the test bed's offline stand-in base (Debian with systemd; no kubelet,
build.sh: kubeadm or containerd): it runs the entrypoint and boots systemd, nothing more, so
build.sh: \`kind create cluster --image $1\` cannot work with it.
build.sh: For kind, build where Docker Hub is reachable, or pass BASE_IMAGE=<a kindest/node image>.
build.sh: $line
EOF
}

# Prints the name a custom entry's image is tagged with: examples/registry-mirror/entrypoint.ts
# gives registry-mirror, my-entrypoint.ts gives my-entrypoint.
custom_name() {
  local name=${ENTRY%/}
  name=${name##*/}
  name=${name%.*}
  # A file named like the default one says nothing; its directory does.
  if [[ $name == entrypoint || $name == main ]]; then
    name=$(basename "$(dirname "$ENTRY")")
  fi
  name=$(tr '[:upper:]' '[:lower:]' <<<"$name" |
    sed -E 's/[^a-z0-9._-]+/-/g; s/^[^a-z0-9]+//; s/[^a-z0-9]+$//')
  printf '%s\n' "${name:-entry}"
}

# Prints ENTRY as an absolute path: relative to where `npm run` was started (npm runs scripts
# from the repo and says where it was started in INIT_CWD), else to the current directory.
entry_path() {
  local dir=${INIT_CWD:-$PWD}
  [[ $ENTRY == /* ]] && dir=/
  (cd "$dir" && realpath -e -- "$ENTRY" 2>/dev/null) || {
    echo "build.sh: ENTRY=$ENTRY: no such file (relative to $dir)" >&2
    return 1
  }
}

main() {
  local bundle=${BUNDLE:-$repo/dist/entrypoint.js} entry=""
  if [[ -n ${ENTRY:-} ]]; then
    [[ -z ${BUNDLE:-} ]] || { echo "build.sh: set ENTRY or BUNDLE, not both" >&2; return 1; }
    entry=$(entry_path) || return 1
  fi
  if [[ -z ${BASE_IMAGE:-} && -z ${DENO_IMAGE:-} ]] && ! default_images_available; then
    echo "build.sh: cannot pull kindest/node or denoland/deno (offline?): building on the test bed's offline stand-ins" >&2
    # shellcheck source=../test/e2e/lib.sh
    source "$repo/test/e2e/lib.sh"
    e2e_ensure_dockerd
    BASE_IMAGE="$(e2e_base_image)"
    DENO_IMAGE="$(e2e_deno_image)"
  fi
  local standin=0
  [[ -n ${BASE_IMAGE:-} ]] && is_standin_base "$BASE_IMAGE" && standin=1
  local image=${IMAGE:-} record_tag=0
  if [[ -z $image && -n $entry ]]; then
    # A custom entrypoint's image never replaces the default one.
    image=kind-entrypoint-ts/custom-$(custom_name)
    ((standin)) && image+=-standin-not-for-kind
    image+=:latest
    record_tag=1
  elif [[ -z $image ]]; then
    image=$NODE_TAG
    ((standin)) && image=$STANDIN_TAG
    record_tag=1
  fi

  local -a args=(-t "$image" -f images/Dockerfile --label kind-entrypoint-ts.image=node)
  ((standin)) && args+=(--label kind-entrypoint-ts.standin=true)
  [[ -n ${BASE_IMAGE:-} ]] && args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
  [[ -n ${DENO_IMAGE:-} ]] && args+=(--build-arg "DENO_IMAGE=$DENO_IMAGE")

  if [[ -z $entry && -z ${BUNDLE:-} ]] && bundle_is_stale "$bundle"; then
    (cd "$repo" && npm run --silent build)
  fi
  [[ -n $entry || -f $bundle ]] || { echo "build.sh: no bundle at $bundle" >&2; return 1; }

  # A context of just the files the Dockerfile copies: sending the repo would send
  # node_modules (hundreds of MB) to the daemon on every build.
  local ctx
  ctx="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$ctx'" EXIT
  mkdir -p "$ctx/images" "$ctx/dist"
  cp "$repo/images/Dockerfile" "$repo/images/entrypoint" "$ctx/images/"
  if [[ -n $entry ]]; then
    # Always bundled afresh (well under a second): the entry may import anything.
    ENTRY=$entry OUTFILE="$ctx/dist/entrypoint.js" node "$repo/scripts/build.mjs"
    args+=(--label "kind-entrypoint-ts.entry=$(basename "$(dirname "$entry")")/$(basename "$entry")")
  else
    cp "$bundle" "$ctx/dist/entrypoint.js"
  fi
  # --force-rm: the legacy builder otherwise leaves the container of a failed RUN behind.
  docker_build --force-rm "${args[@]}" "$ctx"

  if ((record_tag)); then
    mkdir -p "$repo/.cache"
    printf '%s\n' "$image" >"$repo/.cache/image-tag"
  fi
  ((standin)) && warn_standin "$image"
  return 0
}

main "$@"
