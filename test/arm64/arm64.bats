#!/usr/bin/env bats
# The arm64 tier: the port's FFI layer (statfs, mount/umount2, getaddrinfo with getent's flags,
# the signal reset and the execve that keeps the PID) run for real by Deno's arm64 build under
# qemu-aarch64 with an arm64 glibc sysroot (test/arm64/fetch.sh), on this machine's kernel.
# The FFI probe (ffi_probe.ts) must print the same under arm64 as under x86_64; lookups must
# match getent's; the bundle must exec as PID 1 with no signal left ignored or blocked.
#
# Lookups read a fixture /etc/hosts and an nsswitch.conf of `hosts: files` (bind-mounted in a
# private mount namespace), so no name reaches DNS.

REPO="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"

# The emulator, by either of its Debian names; empty when neither is installed.
qemu_binary() {
  command -v qemu-aarch64-static || command -v qemu-aarch64 || true
}

setup_file() {
  export QEMU
  QEMU="$(qemu_binary)"
  [[ -n $QEMU ]] || return 0
  local env
  env="$(bash "$REPO/test/arm64/fetch.sh")"
  export ARM64_DENO ARM64_SYSROOT
  ARM64_DENO="$(sed -n 's/^DENO=//p' <<<"$env")"
  ARM64_SYSROOT="$(sed -n 's/^SYSROOT=//p' <<<"$env")"
  (cd "$REPO" && node scripts/build.mjs >/dev/null &&
    node scripts/build.mjs test/arm64/ffi_probe.ts "$BATS_FILE_TMPDIR/ffi_probe.js" >/dev/null)
  printf '%s\n' '127.0.0.1 localhost' '10.1.2.3 kets-v4only' 'fd00::5 kets-v6only' \
    '10.1.2.4 kets-dual' 'fd00::6 kets-dual' >"$BATS_FILE_TMPDIR/hosts"
  printf 'hosts: files\n' >"$BATS_FILE_TMPDIR/nsswitch.conf"
  export NAMES='localhost kets-v4only kets-v6only kets-dual'
  probe x86_64 "$REPO/node_modules/.bin/deno" >"$BATS_FILE_TMPDIR/x86_64.out"
  probe aarch64 "$QEMU" -L "$ARM64_SYSROOT" "$ARM64_DENO" >"$BATS_FILE_TMPDIR/aarch64.out"
}

setup() {
  [[ -n $QEMU ]] || skip "qemu-aarch64 is not installed (Debian: qemu-user-static)"
}

# probe LABEL DENO...: runs the FFI probe with that Deno in a private mount namespace, on a
# fresh tmpfs, with the fixture hosts and nsswitch files; then getent (x86_64, glibc's own
# answer) for the same names.
probe() {
  shift
  # shellcheck disable=SC2016 # expanded by the inner bash
  unshare -m --propagation private bash -c '
    set -euo pipefail
    tmp=$1; shift
    mount --bind "$tmp/hosts" /etc/hosts
    mount --bind "$tmp/nsswitch.conf" /etc/nsswitch.conf
    # Inside BATS_FILE_TMPDIR, which bats removes: the tmpfs goes with the mount namespace, and a
    # directory made in /tmp would stay behind.
    dir="$(mktemp -d "$tmp/mnt.XXXXXX")"
    mount -t tmpfs kets-arm64 "$dir"
    "$@" run -A "$tmp/ffi_probe.js" "$dir" $NAMES
    for name in $NAMES; do
      for family in 4 6; do
        echo "host getent ahostsv$family $name: $(getent "ahostsv$family" "$name" | head -n1 | cut -d" " -f1)"
      done
    done
  ' _ "$BATS_FILE_TMPDIR" "$@"
}

@test "Deno's arm64 build runs under qemu-aarch64 and reports aarch64" {
  run "$QEMU" -L "$ARM64_SYSROOT" "$ARM64_DENO" eval 'console.log(Deno.build.arch)'
  [ "$status" -eq 0 ]
  [ "$output" = aarch64 ]
}

@test "statfs, mount, umount2 and getaddrinfo answer the same on arm64 as on x86_64" {
  diff -u --label x86_64 --label aarch64 "$BATS_FILE_TMPDIR/x86_64.out" "$BATS_FILE_TMPDIR/aarch64.out"
}

@test "statfs names /proc, /sys and a tmpfs by their magics" {
  local out="$BATS_FILE_TMPDIR/aarch64.out"
  grep -qx 'statfs /proc 0x9fa0 proc' "$out"
  grep -qx 'statfs /sys 0x62656572 sysfs' "$out"
  grep -qx 'statfs DIR 0x1021994 tmpfs' "$out"
}

@test "mount(2) and umount2(2) do what mount(8) does: bind, ro bind, rshared, overlay, remount ro, umount" {
  local out="$BATS_FILE_TMPDIR/aarch64.out"
  [ "$(grep -c '^mount [a-z-]*: ok$' "$out")" -eq 5 ]
  grep -qx 'mount umount: ENOENT (No such file or directory)' "$out"
  # After the last mount: the bind is read-only and shared, the ro bind read-only, the overlay up.
  diff -u - <(sed -n '/^mount remount-ro/,/^overlay/p' "$out") <<'EOF2'
mount remount-ro: ok
  /dst tmpfs ro,relatime shared
  /ro tmpfs ro,relatime private
  /merged overlay rw,relatime private
overlay shows the lower file
EOF2
  grep -qx 'umount merged: ok' "$out"
  # Nothing is left mounted under DIR.
  [ "$(sed -n '/^umount dst/,/^getent/p' "$out" | grep -c '^  ')" -eq 0 ]
}

@test "getaddrinfo with getent's flags answers as getent ahostsv4/ahostsv6 do" {
  local out="$BATS_FILE_TMPDIR/aarch64.out" name family
  for name in $NAMES; do
    for family in 4 6; do
      [ "$(grep "^getent ahostsv$family $name: " "$out")" = \
        "$(grep "^host getent ahostsv$family $name: " "$out" | sed 's/^host //')" ]
    done
  done
  # The mapped form of an IPv4-only name, as getent prints it.
  grep -qx 'getent ahostsv6 kets-v4only: ::ffff:10.1.2.3' "$out"
}

@test "the bundle under arm64 execs its command as PID 1 with every signal default and unblocked" {
  # Deno ignores SIGPIPE; without the reset the command would inherit that (SigIgn 0x1000).
  run env KIND_ENTRYPOINT_STEPS=none unshare --pid --fork --mount-proc \
    "$QEMU" -L "$ARM64_SYSROOT" "$ARM64_DENO" run -A "$REPO/dist/entrypoint.js" \
    /bin/sh -c 'echo "pid $$"; grep -E "^Sig(Blk|Ign)" /proc/self/status'
  [ "$status" -eq 0 ]
  grep -qx 'pid 1' <<<"$output"
  grep -qxP 'SigBlk:\t0{16}' <<<"$output"
  grep -qxP 'SigIgn:\t0{16}' <<<"$output"
}
