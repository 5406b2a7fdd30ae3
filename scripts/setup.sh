#!/usr/bin/env bash
# Sets up a Debian or Ubuntu machine for the tests (`npm run setup`): the Debian packages every
# tier needs, the npm packages, and a running dockerd. CI (.ci/run) runs this too, so this file
# holds the one list of packages.
#
# Needs root for apt-get and for starting dockerd; with every package already installed and
# dockerd running it only runs `npm ci`, which does not.
#
# Env: SETUP_SKIP_NPM=1 skips `npm ci` (for a caller that installs npm packages itself).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# What each tier needs from Debian:
#   kernel/faults: iptables nftables iproute2 util-linux procps bind9-dnsutils dnsmasq-base
#                  python3-minimal strace
#   e2e, `npm run image`, bench: docker.io debootstrap ca-certificates
#   bench --relay: dnsperf (loads the relay and dnsmasq alike)
#   e2e's podman tier: podman netavark aardvark-dns runc uidmap
#   arm64: qemu-user-static (test/arm64/fetch.sh adds Deno's arm64 build and an arm64 glibc)
#   kind: the e2e tier's packages, and kind itself (install_kind, with Go)
packages=(
  iptables nftables iproute2 util-linux procps bind9-dnsutils dnsmasq-base strace
  python3-minimal docker.io debootstrap ca-certificates dnsperf
  podman netavark aardvark-dns runc uidmap qemu-user-static
)

say() { echo "setup: $*"; }

# Prints the packages of the list that are not installed.
missing_packages() {
  local pkg
  for pkg in "${packages[@]}"; do
    [[ "$(dpkg-query -W -f '${db:Status-Status}' "$pkg" 2>/dev/null)" == installed ]] ||
      echo "$pkg"
  done
}

install_packages() {
  local -a missing
  command -v dpkg-query >/dev/null || {
    say "not a Debian or Ubuntu system: install the equivalents of these yourself: ${packages[*]}"
    return 1
  }
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    say "Debian packages: all ${#packages[@]} installed"
    return 0
  fi
  if ((EUID != 0)); then
    say "installing ${missing[*]} needs root: run \`sudo npm run setup\` (or as root)"
    return 1
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

start_dockerd() {
  if docker info >/dev/null 2>&1; then
    say "dockerd: running"
    return 0
  fi
  if ((EUID != 0)); then
    say "dockerd is not running and starting it needs root: run \`sudo npm run setup\` (or as root)"
    return 1
  fi
  # shellcheck source=../test/e2e/lib.sh
  source test/e2e/lib.sh
  e2e_ensure_dockerd
}

# Puts the metadata of the package's dependencies into npm's cache: npm ci fetches only
# tarballs, and a project that installs the packed package offline (test/e2e/package.bats)
# resolves those dependencies by name.
cache_package_dependencies() {
  local dir
  local -a deps
  mapfile -t deps < <(node -p \
    'Object.entries(require("./package.json").dependencies).map(([n, v]) => n + "@" + v).join("\n")')
  dir="$(mktemp -d)"
  npm install --prefer-offline --no-save --no-audit --no-fund --ignore-scripts --prefix "$dir" \
    "${deps[@]}" >/dev/null
  rm -rf "$dir"
}

# kind for the kind tier (test/kind/), at the version test/kind/kind-version names: a kind of that
# version on PATH is used as it is; otherwise Go builds it once into the project's cache, where
# the tier looks for it. Without Go the tier skips (and fails under CI=true).
install_kind() {
  local found go
  # shellcheck source=../test/e2e/lib.sh
  source test/e2e/lib.sh
  # shellcheck source=../test/kind/lib.sh
  source test/kind/lib.sh
  if found="$(kind_tier_find_kind)"; then
    say "kind $KIND_TIER_VERSION: $found"
    return 0
  fi
  if ! go="$(kind_tier_go)"; then
    say "no Go: kind $KIND_TIER_VERSION is not installed, the kind tier will skip (and fail under CI=true)"
    return 0
  fi
  say "kind $KIND_TIER_VERSION: go install sigs.k8s.io/kind@$KIND_TIER_VERSION into ${KIND_TIER_CACHE_BIN%/*}"
  GOBIN="${KIND_TIER_CACHE_BIN%/*}" "$go" install "sigs.k8s.io/kind@$KIND_TIER_VERSION"
}

main() {
  install_packages
  if [[ ${SETUP_SKIP_NPM:-} != 1 ]]; then
    say "npm ci"
    npm ci --no-audit --no-fund
    say "npm's cache: the package's dependencies, for installing the packed package offline"
    cache_package_dependencies
  fi
  if ((EUID == 0)) && [[ -d node_modules/@deno/linux-x64-glibc ]]; then
    say "arm64 tier: Deno's arm64 build and an arm64 glibc (test/arm64/fetch.sh)"
    bash test/arm64/fetch.sh >/dev/null
  fi
  install_kind
  start_dockerd
  say "done: \`npm test\` (as root) runs every tier, \`npm run image\` builds the node image"
}

main "$@"
