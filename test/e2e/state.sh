#!/usr/bin/env bash
# Prints a node's state, as the entrypoint leaves it, as one text blob that two nodes (or two
# moments of one node) can be compared by: `diff <(state.sh A) <(state.sh B)`.
#
# Usage: state.sh [--raw] NODE
#
# Sections, each headed `### name`: the entrypoint's log (docker logs up to `INFO: starting init`),
# the exit status when the node has stopped, iptables-legacy-save and iptables-nft-save,
# resolv.conf and resolv.conf.original, every file under /kind, the DMI files, /etc/machine-id,
# PID 1's mount table (/proc/1/mountinfo as mount point, fstype, options, propagation; ids,
# devices and sources dropped), the iptables alternative, containerd's config, systemd's
# system.conf.d drop-ins and the symlinks under /etc/systemd/system, and PID 1's command line.
#
# By default values that differ between two otherwise identical nodes are replaced by
# placeholders: the node's IPs (<node-ip>, <node-ip6>), the network gateway (<host-ip>), the
# host-gateway address of host.docker.internal (<host-gateway>), Docker's random DNS ports
# (<dns-tcp-port>, <dns-udp-port>), UUIDs (<uuid-1>, <uuid-2>... in order of appearance, so
# "same UUID" survives), the machine-id (<machine-id>) and iptables counters ([-:-]); the mount
# table is sorted by mount point (stable, so stacked mounts keep their order).
# --raw leaves every value as it is (for before/after comparisons of one node); it only drops
# iptables-save's `# Generated/Completed ... on DATE` comments, which are the time of the dump,
# not state.
set -euo pipefail

E2E_NETWORK=${E2E_NETWORK:-kets-e2e}
# docker, or podman (with the bed's containers.conf) for the podman tier.
E2E_ENGINE=${E2E_ENGINE:-docker}
cli() {
  if [[ $E2E_ENGINE == podman ]]; then
    CONTAINERS_CONF="$(dirname "${BASH_SOURCE[0]}")/podman-containers.conf" podman "$@"
  else
    docker "$@"
  fi
}

# Runs inside the node (bash -s): prints the raw sections. Reads only; changes nothing.
collect_in_node() {
  cat <<'EOF'
section() { printf '### %s\n' "$1"; }
show_file() {
  if [[ -L $1 && ! -e $1 ]]; then echo "(dangling symlink to $(readlink "$1"))"
  elif [[ -f $1 ]]; then cat "$1"; [[ -z $(tail -c1 "$1") ]] || printf '\n(no newline at end)\n'
  else echo '(absent)'; fi
}
section iptables-legacy-save
iptables-legacy-save 2>&1 || echo "(exit $?)"
section iptables-nft-save
iptables-nft-save 2>&1 || echo "(exit $?)"
section /etc/resolv.conf
show_file /etc/resolv.conf
section /etc/resolv.conf.original
show_file /etc/resolv.conf.original
section /kind
while IFS= read -r f; do
  printf -- '--- %s\n' "$f"
  show_file "$f"
done < <(find /kind -mindepth 1 \( -type f -o -type l \) | LC_ALL=C sort)
section dmi
for f in /sys/class/dmi/id/product_name /sys/class/dmi/id/product_uuid \
  /sys/devices/virtual/dmi/id/product_name /sys/devices/virtual/dmi/id/product_uuid; do
  printf '%s: %s\n' "$f" "$(cat "$f" 2>/dev/null || echo '(absent)')"
done
section /etc/machine-id
show_file /etc/machine-id
section mounts
# mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS.
# Kept: mount point, fstype, per-mount options and the propagation type (shared/master/
# unbindable, or private when none), which fix_mount and fix_cgroup change.
awk '{
  prop = ""
  for (i = 7; $i != "-"; i++) { p = $i; sub(/:.*/, "", p); prop = prop (prop == "" ? "" : ",") p }
  if (prop == "") prop = "private"
  print $5, $(i + 1), $6, prop
}' /proc/1/mountinfo
section mount-count
wc -l </proc/1/mountinfo
section iptables-alternative
update-alternatives --query iptables | sed -n 's/^Value: //p'
section /etc/containerd/config.toml
show_file /etc/containerd/config.toml
section /etc/systemd/system.conf.d
for f in /etc/systemd/system.conf.d/*; do
  [[ -e $f ]] || { echo '(empty or absent)'; break; }
  printf -- '--- %s\n' "$f"
  show_file "$f"
done
section systemd-symlinks
find /etc/systemd/system -type l -printf '%p -> %l\n' | LC_ALL=C sort
section pid1
printf 'cmdline: %s\n' "$(tr '\0' ' ' </proc/1/cmdline | sed 's/ $//')"
printf 'exe: %s\n' "$(readlink /proc/1/exe)"
EOF
}

# Prints the entrypoint's part of the node's log: up to the last `INFO: starting init` (a
# restarted node logs one run per start), or all of it when the entrypoint never got there.
entrypoint_log() {
  local logs
  # Without the tty's carriage returns and colours (as lib.sh's e2e_logs reads logs).
  logs="$(cli logs "$1" 2>&1 | tr -d '\r' | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g')"
  if grep -qx 'INFO: starting init' <<<"$logs"; then
    awk '{ line[NR] = $0 } $0 == "INFO: starting init" { last = NR }
      END { for (i = 1; i <= last; i++) print line[i] }' <<<"$logs"
  else
    printf '%s\n' "$logs"
  fi
}

raw_state() {
  local node=$1 running
  printf '### log\n'
  # Docker's own warning for --dns 127.0.0.1 is no output of the node.
  entrypoint_log "$node" | grep -v '^WARNING: Localhost DNS' || true
  running="$(cli inspect -f '{{.State.Running}}' "$node")"
  if [[ $running != true ]]; then
    printf '### exit\n%s\n' "$(cli inspect -f '{{.State.ExitCode}}' "$node")"
    return 0
  fi
  cli exec -i "$node" bash -s < <(collect_in_node) |
    sed -E '/^# (Generated by|Completed on) /s/ on [A-Z][a-z]{2} .*//'
}

# Prints sed expressions that replace this node's varying values by placeholders.
normalizer() {
  local node=$1 state=$2 ip ip6 gw hgw tcp udp old old6
  local net="{{with index .NetworkSettings.Networks \"$E2E_NETWORK\"}}"
  ip="$(cli inspect -f "$net{{.IPAddress}}{{end}}" "$node" 2>/dev/null || true)"
  ip6="$(cli inspect -f "$net{{.GlobalIPv6Address}}{{end}}" "$node" 2>/dev/null || true)"
  # The gateway as the node's endpoint has it: both engines answer it the same way.
  gw="$(cli inspect -f "$net{{.Gateway}}{{end}}" "$node" 2>/dev/null || true)"
  # What host-gateway became in the node's /etc/hosts, if it was asked for.
  hgw="$(cli exec "$node" awk '$2 == "host.docker.internal" && $1 !~ /^127\./ { print $1; exit }' /etc/hosts 2>/dev/null || true)"
  tcp="$(sed -nE 's/.*-p tcp .*--to-destination 127\.0\.0\.11:([0-9]+).*/\1/p' <<<"$state" | head -n1)"
  udp="$(sed -nE 's/.*-p udp .*--to-destination 127\.0\.0\.11:([0-9]+).*/\1/p' <<<"$state" | head -n1)"
  # The address the node had before a restart gave it a new one, as the entrypoint logged it.
  old="$(sed -nE 's/^INFO: detected old IPv4 address: ([0-9.]+)$/\1/p' <<<"$state" | head -n1)"
  old6="$(sed -nE 's/^INFO: detected old IPv6 address: ([0-9a-f:.]+)$/\1/p' <<<"$state" | head -n1)"
  esc() { sed 's/[.[\*^$/]/\\&/g' <<<"$1"; }
  [[ -n $old6 ]] && printf 's/%s\\b/<old-node-ip6>/g\n' "$(esc "$old6")"
  [[ -n $old ]] && printf 's/\\b%s\\b/<old-node-ip>/g\n' "$(esc "$old")"
  [[ -n $ip ]] && printf 's/\\b%s\\b/<node-ip>/g\n' "$(esc "$ip")"
  [[ -n $ip6 ]] && printf 's/%s/<node-ip6>/g\n' "$(esc "$ip6")"
  [[ -n $gw ]] && printf 's/\\b%s\\b/<host-ip>/g\n' "$(esc "$gw")"
  [[ -n $hgw && $hgw != "$gw" ]] && printf 's/\\b%s\\b/<host-gateway>/g\n' "$(esc "$hgw")"
  [[ -n $tcp ]] && printf 's/\\b%s\\b/<dns-tcp-port>/g\n' "$tcp"
  [[ -n $udp ]] && printf 's/\\b%s\\b/<dns-udp-port>/g\n' "$udp"
  printf '%s\n' 's/\[[0-9]+:[0-9]+\]/[-:-]/g'
}

# Numbers UUIDs in order of first appearance and hides the machine-id.
placeholders() {
  # No {n} intervals: mawk, Debian's default awk, lacks them.
  awk '
    function uuids(line,   out, u) {
      out = ""
      while (match(line, /[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+/)) {
        u = substr(line, RSTART, RLENGTH)
        if (!(u in seen)) seen[u] = "<uuid-" (++n) ">"
        out = out substr(line, 1, RSTART - 1) seen[u]
        line = substr(line, RSTART + RLENGTH)
      }
      return out line
    }
    /^### / { section = $0 }
    section == "### /etc/machine-id" && /^[0-9a-f]+$/ && length($0) == 32 { print "<machine-id>"; next }
    { print uuids($0) }
  '
}

main() {
  local raw=0
  if [[ ${1:-} == --raw ]]; then
    raw=1
    shift
  fi
  local node=${1:?usage: state.sh [--raw] NODE}
  local state
  state="$(raw_state "$node")"
  if ((raw)); then
    printf '%s\n' "$state"
    return 0
  fi
  sed -E -f <(normalizer "$node" "$state") <<<"$state" | placeholders | sort_mounts
}

# Sorts the mounts section by mount point. Docker creates a container's mounts in no fixed order
# (two --tmpfs mounts swap places between runs); a stable sort keeps the order of mounts stacked
# on the same mount point, which is the order that matters.
sort_mounts() {
  local line in_mounts=0
  local -a mounts=()
  while IFS= read -r line; do
    if ((in_mounts)) && [[ $line != '### '* ]]; then
      mounts+=("$line")
      continue
    fi
    if ((in_mounts)); then
      ((${#mounts[@]} == 0)) || printf '%s\n' "${mounts[@]}" | LC_ALL=C sort -s -k1,1
      in_mounts=0
    fi
    printf '%s\n' "$line"
    [[ $line == '### mounts' ]] && in_mounts=1
  done
  if ((in_mounts && ${#mounts[@]})); then printf '%s\n' "${mounts[@]}" | LC_ALL=C sort -s -k1,1; fi
}

main "$@"
