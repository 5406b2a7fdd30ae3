#!/bin/bash
# Test scaffolding, run as a node's PID 1 before the entrypoint: it supplies the parts of
# `docker run --privileged` that the entrypoint needs but this host cannot grant, then execs the
# entrypoint so it keeps PID 1. Mounted in by e2e_run_node; never part of an image.
#
# Env:
#   E2E_FAKE_DMI=1           give the node DMI product_name/product_uuid files (hosts without
#                            DMI skip the entrypoint's product steps otherwise)
#   E2E_T0_FILE=path         write the time (ns since the epoch) just before exec, for the benchmark
#   E2E_STRACE_OUT=path      run the entrypoint under `strace -f -e trace=execve -o path`
#                            (then it is no longer PID 1: use with a short CMD, not /sbin/init)
#   E2E_SKIP_ENTRYPOINT=1    exec CMD directly: the "no entrypoint" control
#   E2E_CGROUP2=1            give the node a cgroup v2 view: replace the v1 hierarchy under
#                            /sys/fs/cgroup with a cgroup2 mount (on this hybrid host it has no
#                            controllers, but both implementations take their v2 path)
set -euo pipefail

# Without --privileged the cgroup v1 controllers are mounted read-only, and the entrypoint's
# cgroup fixes need them writable. A bind remount flips only this mount's flag; a plain
# `remount,rw` fails with "busy".
remount_cgroups_rw() {
  local _id _parent _devno _root mnt opts _rest
  local -a mounts=()
  while read -r _id _parent _devno _root mnt opts _rest; do
    [[ $mnt == /sys/fs/cgroup/* && ,$opts, == *,ro,* ]] && mounts+=("$mnt")
  done </proc/self/mountinfo
  for mnt in "${mounts[@]}"; do
    mount -o remount,bind,rw "$mnt"
  done
}

# Covers DIR with a tmpfs that still shows DIR's original entries (each bind-mounted back), so
# files can be added under a read-only sysfs without hiding the rest of it.
overlay_dir() {
  local dir=$1 saved=/run/e2e-saved entry
  mkdir -p "$saved"
  mount --bind "$dir" "$saved"
  mount -t tmpfs -o mode=0755 e2e-sysfs "$dir"
  for entry in "$saved"/*; do
    [[ -e $entry ]] || continue
    mkdir "$dir/${entry##*/}"
    mount --bind "$entry" "$dir/${entry##*/}"
  done
  umount "$saved"
  rmdir "$saved"
}

# Lays out DMI like a real machine: the files live in /sys/devices/virtual/dmi/id and
# /sys/class/dmi/id is a symlink to them, so the entrypoint's two bind mounts stack on the same
# file as they do on real hardware.
fake_dmi() {
  [[ -e /sys/class/dmi/id/product_name ]] && return 0
  overlay_dir /sys/devices/virtual
  overlay_dir /sys/class
  mkdir -p /sys/devices/virtual/dmi/id /sys/class/dmi
  echo 'E2E Fake Machine' >/sys/devices/virtual/dmi/id/product_name
  echo '00000000-e2e0-4000-8000-000000000001' >/sys/devices/virtual/dmi/id/product_uuid
  ln -s ../../devices/virtual/dmi/id /sys/class/dmi/id
  # Read-only like sysfs: the entrypoint must bind over the files, not write them.
  mount -o remount,ro /sys/devices/virtual
  mount -o remount,ro /sys/class
}

# Hides the v1 controllers under a cgroup2 mount, so the node sees a pure v2 host.
cgroup2_view() {
  umount -R /sys/fs/cgroup
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
}

main() {
  if [[ ${E2E_CGROUP2:-} == 1 ]]; then
    cgroup2_view
  else
    remount_cgroups_rw
  fi
  [[ ${E2E_FAKE_DMI:-} == 1 ]] && fake_dmi
  # Our variables are not the entrypoint's business; keep its environment as kind would set it.
  local t0_file=${E2E_T0_FILE:-} strace_out=${E2E_STRACE_OUT:-} skip=${E2E_SKIP_ENTRYPOINT:-}
  # PWD is bash's own addition; SHLVL=0 comes back on exec whatever we do, so it stays.
  unset E2E_FAKE_DMI E2E_T0_FILE E2E_STRACE_OUT E2E_SKIP_ENTRYPOINT E2E_CGROUP2 PWD

  if [[ $skip == 1 ]]; then
    exec "$@"
  fi
  if [[ -n $t0_file ]]; then
    # EPOCHREALTIME (µs) avoids spawning `date`, which the benchmark would count.
    printf '%s000\n' "${EPOCHREALTIME/./}" >"$t0_file"
  fi
  if [[ -n $strace_out ]]; then
    exec strace -f -qq -e trace=execve -o "$strace_out" /usr/local/bin/entrypoint "$@"
  fi
  exec /usr/local/bin/entrypoint "$@"
}

main "$@"
