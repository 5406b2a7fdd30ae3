# shellcheck shell=bash
# Shell functions shared by the namespace sandboxes (test/kernel/sandbox.sh,
# test/kernel/nft_dns_sandbox.sh, test/faults/sandbox.sh). Each sandbox defines `die` and sources
# this file in every phase, wherever it runs.

# extract_functions FILE NAME...: prints the named shell functions of FILE (kind's original
# entrypoint, read at test time and never committed), each from its `NAME() {` line through the
# first line that is exactly `}`.
extract_functions() {
  local file=$1 name out
  shift
  for name in "$@"; do
    out="$(awk -v name="$name" '
      !inside && $0 ~ "^" name "[[:space:]]*\\(\\)[[:space:]]*\\{" { inside = 1 }
      inside { print }
      inside && $0 == "}" { exit }
    ' "$file")"
    [[ -n "$out" ]] || die "function ${name} not found in ${file}"
    printf '%s\n' "$out"
  done
}

# new_netns_holder prints the pid of a `sleep` that holds a fresh network namespace.
new_netns_holder() {
  local self pid
  self="$(readlink /proc/self/ns/net)"
  unshare --net sleep 3600 </dev/null >/dev/null 2>&1 &
  pid=$!
  # at most 30 s: a bound on a loaded machine's speed is a failure, not a wait
  for _ in $(seq 1 3000); do
    if [[ -e /proc/${pid}/ns/net && "$(readlink "/proc/${pid}/ns/net")" != "$self" ]]; then
      echo "$pid"
      return 0
    fi
    sleep 0.01
  done
  die "network namespace holder did not start"
}

# make_overlay_root STAGE NAME: mounts a tmpfs named NAME at STAGE with an overlay of / on it, so
# nothing written inside reaches the machine, plus fresh /proc, /sys, /run, /tmp, the machine's
# /dev, the repository read-only at its own path, and empty /sbx/bin and /sbx/files. Sets
# SANDBOX_ROOT to the new root. Run it in a private mount namespace.
make_overlay_root() {
  local stage=$1 name=$2 root
  mount -t tmpfs -o mode=0755 "$name" "$stage"
  mkdir "${stage}/upper" "${stage}/work" "${stage}/root"
  mount -t overlay overlay -o "lowerdir=/,upperdir=${stage}/upper,workdir=${stage}/work" "${stage}/root"
  root="${stage}/root"
  mount -t proc proc "${root}/proc"
  mount -t sysfs sysfs "${root}/sys"
  mount --rbind /dev "${root}/dev"
  mount -t tmpfs tmpfs "${root}/run"
  mount -t tmpfs tmpfs "${root}/tmp"
  mkdir -p "${root}${REPO}"
  mount --bind "$REPO" "${root}${REPO}"
  mount -o remount,bind,ro "${root}${REPO}"
  mkdir -p "${root}/sbx/bin" "${root}/sbx/files"
  # shellcheck disable=SC2034 # read by the sandbox that sourced this file
  SANDBOX_ROOT=$root
}

# bind_file SRC TARGET: a copy of SRC bind-mounted over TARGET (created when missing), as Docker
# bind-mounts /etc/hosts, /etc/hostname and /etc/resolv.conf: replacing them by rename fails.
bind_file() {
  cp "$1" "/sbx/files/$(basename "$2")"
  [[ -e "$2" ]] || : >"$2"
  mount --bind "/sbx/files/$(basename "$2")" "$2"
}

# bind_text TARGET TEXT: like bind_file, with TEXT as the content.
bind_text() {
  printf '%s' "$2" >"/sbx/files/$(basename "$1").src"
  bind_file "/sbx/files/$(basename "$1").src" "$1"
}

# set_node_identity HOSTS: hostname kind-control-plane, and bind-mounted /etc/hostname,
# /etc/nsswitch.conf (files, then dns) and /etc/hosts (HOSTS).
set_node_identity() {
  hostname kind-control-plane
  bind_text /etc/hostname $'kind-control-plane\n'
  bind_text /etc/nsswitch.conf $'hosts:          files dns\n'
  bind_text /etc/hosts "$1"
}
