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
  for _ in $(seq 1 200); do
    if [[ -e /proc/${pid}/ns/net && "$(readlink "/proc/${pid}/ns/net")" != "$self" ]]; then
      echo "$pid"
      return 0
    fi
    sleep 0.01
  done
  die "network namespace holder did not start"
}
