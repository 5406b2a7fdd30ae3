#!/usr/bin/env bash
# Fetches what the arm64 tier runs on an x86_64 machine, into a cache directory, and prints the
# two paths the tier needs (`DENO=...` and `SYSROOT=...`):
#   - Deno's arm64 build, the npm package @deno/linux-arm64-glibc of the same version as the
#     x86_64 one in node_modules (`npm pack`: nothing is added to package.json or node_modules);
#   - an arm64 glibc sysroot for `qemu-aarch64 -L`: Debian's libc6:arm64 and libgcc-s1:arm64
#     unpacked with dpkg-deb (the arm64 architecture is added to dpkg once, which needs root).
# Idempotent: a second run only checks the cache. Env: ARM64_CACHE_DIR (default
# ${XDG_CACHE_HOME:-~/.cache}/kind-entrypoint-ts/arm64).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache=${ARM64_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kind-entrypoint-ts/arm64}
say() { echo "arm64 fetch: $*" >&2; }

version="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
  "$repo/node_modules/@deno/linux-x64-glibc/package.json" | head -n1)"
[[ -n $version ]] || { say "no node_modules/@deno/linux-x64-glibc: run npm ci first"; exit 1; }
deno="$cache/deno-$version/deno"
sysroot="$cache/sysroot"
mkdir -p "$cache"

if [[ ! -x $deno ]]; then
  say "fetching @deno/linux-arm64-glibc@$version"
  tmp="$(mktemp -d "$cache/tmp.XXXXXX")"
  (cd "$tmp" && npm pack --silent "@deno/linux-arm64-glibc@$version" >/dev/null)
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp"/*.tgz -C "$tmp/unpacked"
  mkdir -p "${deno%/*}"
  mv "$tmp/unpacked/package/deno" "$deno.tmp"
  chmod 0755 "$deno.tmp"
  mv "$deno.tmp" "$deno"
  rm -rf "$tmp"
fi

if [[ ! -e $sysroot/lib/ld-linux-aarch64.so.1 ]]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    say "adding the arm64 architecture to dpkg"
    dpkg --add-architecture arm64
    apt-get update -qq
  fi
  say "fetching libc6:arm64 and libgcc-s1:arm64"
  tmp="$(mktemp -d "$cache/tmp.XXXXXX")"
  # apt's download sandbox user cannot write into root's cache; a world-writable tmp dir it can.
  chmod 0777 "$tmp"
  (cd "$tmp" && apt-get download -qq libc6:arm64 libgcc-s1:arm64 2>/dev/null) || {
    # The package lists may predate the new architecture.
    apt-get update -qq
    (cd "$tmp" && apt-get download -qq libc6:arm64 libgcc-s1:arm64)
  }
  rm -rf "$sysroot.tmp"
  mkdir -p "$sysroot.tmp"
  for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$sysroot.tmp"; done
  rm -rf "$sysroot" "$tmp"
  mv "$sysroot.tmp" "$sysroot"
fi

printf 'DENO=%s\nSYSROOT=%s\n' "$deno" "$sysroot"
