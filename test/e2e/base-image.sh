#!/usr/bin/env bash
# Builds the offline stand-in for kind's base image: a debootstrapped Debian with systemd,
# trimmed the way kind trims its base, plus the files kind's entrypoint expects to find.
#
# Usage: base-image.sh TAG
#
# lib.sh tags the result with a hash of this file, so any edit here yields a new image and an
# unchanged recipe is never rebuilt. Env:
#   E2E_DEBIAN_MIRROR  mirror URL (default: the first mirror for this release in the apt sources)
#   E2E_CACHE_DIR      where debootstrap keeps downloaded .debs between runs
set -euo pipefail

readonly LABEL=kind-entrypoint-ts.e2e
# bash and procps: zx runs commands through bash and needs ps to kill timed-out children.
# strace: the benchmark counts execve. bind9-dnsutils: dig for the pod DNS check.
# iptables: Debian registers iptables-legacy/iptables-nft with update-alternatives, which the
# entrypoint switches between. nftables: kind's base image ships nft, which the port uses for
# Docker's nftables DNS table.
readonly PACKAGES=(
  systemd systemd-sysv bash procps iptables nftables iproute2 bind9-dnsutils libc-bin kmod
  util-linux mount hostname ca-certificates strace
)

log() { printf 'base-image: %s\n' "$*" >&2; }

# Prints the release codename of this machine (the base follows the host's Debian release so
# the .debs already in apt's reach are the ones we install).
host_codename() {
  local codename
  # shellcheck disable=SC1091
  codename="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")"
  [[ -n "$codename" ]] || { log 'cannot read VERSION_CODENAME from /etc/os-release'; return 1; }
  printf '%s\n' "$codename"
}

# Prints the first plain `deb` mirror serving SUITE, from one-line and deb822 apt sources.
# Reading apt's own configuration keeps the recipe free of any hard-coded host.
apt_mirror() {
  local suite=$1 f
  local -a files=()
  [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] && files+=("$f")
  done
  ((${#files[@]})) || { log 'no apt sources found'; return 1; }
  awk -v suite="$suite" '
    function has(list, word,   n, i, parts) {
      n = split(list, parts, /[ \t]+/)
      for (i = 1; i <= n; i++) if (parts[i] == word) return 1
      return 0
    }
    function flush() {
      if (types != "" && has(types, "deb") && has(suites, suite) && enabled != "no" && uris != "") {
        split(uris, u, /[ \t]+/); print u[1]; found = 1; exit
      }
      types = uris = suites = enabled = ""
    }
    FNR == 1 { flush() }
    /^[ \t]*#/ { next }
    # one-line format: deb [options] URI SUITE COMPONENTS...
    /^deb[ \t]/ {
      line = $0; sub(/^deb[ \t]+/, "", line); sub(/^\[[^]]*\][ \t]*/, "", line)
      split(line, w, /[ \t]+/)
      if (w[2] == suite) { print w[1]; found = 1; exit }
      next
    }
    # deb822 format: paragraphs of Field: value
    /^[ \t]*$/ { flush(); next }
    /^Types:/   { types = $0;   sub(/^Types:[ \t]*/, "", types) }
    /^URIs:/    { uris = $0;    sub(/^URIs:[ \t]*/, "", uris) }
    /^Suites:/  { suites = $0;  sub(/^Suites:[ \t]*/, "", suites) }
    /^Enabled:/ { enabled = $0; sub(/^Enabled:[ \t]*/, "", enabled) }
    END { if (!found) flush() }
  ' "${files[@]}"
}

# Applies kind's base-image trimming and adds what the entrypoint relies on.
configure_rootfs() {
  local root=$1
  # Same unit pruning as kind's base image: no getty, udev, tmpfiles setup or other units that
  # make no sense (or fail) in a container.
  find "$root/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
  rm -f "$root"/lib/systemd/system/multi-user.target.wants/* \
    "$root"/etc/systemd/system/*.wants/* \
    "$root"/lib/systemd/system/local-fs.target.wants/* \
    "$root"/lib/systemd/system/sockets.target.wants/*udev* \
    "$root"/lib/systemd/system/sockets.target.wants/*initctl* \
    "$root"/lib/systemd/system/basic.target.wants/*
  # Kernel messages in the node journal would be the host's, which only confuses.
  echo 'ReadKMsg=no' >>"$root/etc/systemd/journald.conf"
  # binfmt_misc is kernel-global: a node must not register interpreters for the host.
  ln -sf /dev/null "$root/etc/systemd/system/systemd-binfmt.service"
  [[ -e "$root/sbin/init" ]] || ln -s /lib/systemd/systemd "$root/sbin/init"

  # The entrypoint stats /kind, edits these two containerd lines and rewrites IPs in manifests.
  mkdir -p "$root/kind" "$root/etc/containerd" "$root/etc/kubernetes/manifests"
  cat >"$root/etc/containerd/config.toml" <<'EOF'
# Test-bed stand-in for kind's containerd config: only the lines the entrypoint edits.
version = 2

[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "overlayfs"

[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = false
EOF

  # Pods reach Docker's resolver through a DNAT to 127.0.0.11, which the kernel drops for packets
  # arriving on a pod's veth unless route_localnet is on. kind's node image turns it on in
  # /etc/sysctl.d/10-network-magic.conf, applied by systemd-sysctl at boot; the stand-in does the
  # same, so a stand-in node's DNS diagnosis is healthy for the same reason a kind node's is.
  mkdir -p "$root/etc/sysctl.d"
  echo 'net.ipv4.conf.all.route_localnet=1' >"$root/etc/sysctl.d/10-network-magic.conf"

  # systemd's postinst generated a machine-id; every node must get its own at boot.
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id"

  # Size: nothing here is needed at run time in an offline test node.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/usr/share/locale/* "$root"/var/log/*.log
}

main() {
  local tag=${1:?usage: base-image.sh TAG}
  local cache=${E2E_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kind-entrypoint-ts}/debootstrap
  local suite mirror work
  suite="$(host_codename)"
  mirror="${E2E_DEBIAN_MIRROR:-$(apt_mirror "$suite")}"
  [[ -n "$mirror" ]] || { log "no apt mirror for suite $suite"; return 1; }
  mkdir -p "$cache"

  # /var/tmp, not /tmp: debootstrap needs a filesystem where it may create device nodes and exec.
  work="$(mktemp -d /var/tmp/kets-base.XXXXXX)"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT

  log "debootstrap $suite from $mirror (cache $cache)"
  local IFS=,
  debootstrap --variant=minbase --include="${PACKAGES[*]}" --cache-dir="$cache" \
    "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    return 1
  }
  unset IFS
  configure_rootfs "$work/rootfs"

  # docker import (20.10) rejects STOPSIGNAL, so import plainly and set the image config in a
  # one-line Dockerfile build on top, which keeps it.
  local imported="kind-entrypoint-ts/base-import:$$"
  tar -C "$work/rootfs" --numeric-owner -c . | docker import - "$imported" >/dev/null
  # Output is kept for failures only: the legacy builder prints a deprecation banner each time.
  docker build -t "$tag" --label "$LABEL=base" - >"$work/build.log" 2>&1 <<EOF || {
FROM $imported
ENV container=docker
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
EOF
    cat "$work/build.log" >&2
    return 1
  }
  docker rmi "$imported" >/dev/null
  log "built $tag"
}

main "$@"
