#!/usr/bin/env bats
# KIND_ENTRYPOINT_DRY_RUN=1 in real containers: it changes nothing (raw state.sh before and after,
# byte for byte), exits 0 and prints its plan; and the plan predicts a real run: in a FRESH node
# whose PID 1 is `sleep infinity` (the shim's E2E_SKIP_ENTRYPOINT), the dry run is followed by
# the real entrypoint, and every entry of the plan is checked against what the real run did.
#
# Nodes: BOOTED (the port, booted to systemd) and FRESH (the port's image, entrypoint not yet run,
# fake DMI so that the product steps are in the plan).

# shellcheck source=test/e2e/lib.sh
source "$BATS_TEST_DIRNAME/lib.sh"

NODE_BOOTED=kets-dry-booted
NODE_FRESH=kets-dry-fresh

setup_file() {
  export E2E_FILE_START=$SECONDS
  e2e_ensure_dockerd
  e2e_rm "$NODE_BOOTED" "$NODE_FRESH"
  local image
  image="$(e2e_node_image)"
  e2e_network
  e2e_egress_guard_on
  e2e_run_node "$NODE_BOOTED" "$image" >/dev/null 2>&1
  e2e_run_node "$NODE_FRESH" "$image" -e E2E_SKIP_ENTRYPOINT=1 -e E2E_FAKE_DMI=1 \
    -- sleep infinity >/dev/null 2>&1
  e2e_wait_booted "$NODE_BOOTED"
  # The shim has run (cgroups writable, fake DMI) once PID 1 is sleep.
  e2e_wait_pid1 "$NODE_FRESH" sleep
}

teardown_file() {
  e2e_rm "$NODE_BOOTED" "$NODE_FRESH"
  e2e_egress_guard_off || true
  local cell
  for cell in booted fresh predicts; do
    [[ -f $BATS_FILE_TMPDIR/$cell ]] || echo 'not run' >"$BATS_FILE_TMPDIR/$cell"
  done
  e2e_result dry_run.bats 'dry run in a booted node: nothing changes' 'n/a (no dry run)' \
    "$(<"$BATS_FILE_TMPDIR/booted")"
  e2e_result dry_run.bats 'dry run in a fresh node: nothing changes' 'n/a (no dry run)' \
    "$(<"$BATS_FILE_TMPDIR/fresh")"
  e2e_result dry_run.bats 'dry-run plan vs the real run that follows' 'n/a (no dry run)' \
    "$(<"$BATS_FILE_TMPDIR/predicts")"
  e2e_result_time dry_run.bats "$((SECONDS - E2E_FILE_START))" \
    "$(grep -c '^@test' "$BATS_TEST_FILENAME")"
}

state() { bash "$BATS_TEST_DIRNAME/state.sh" --raw "$1"; }

# dry_run NODE CMD...: runs the dry run; the plan (stdout) goes to $BATS_FILE_TMPDIR/NODE.plan.
dry_run() {
  local node=$1
  shift
  docker exec -e KIND_ENTRYPOINT_DRY_RUN=1 "$node" /usr/local/bin/entrypoint "$@" \
    >"$BATS_FILE_TMPDIR/$node.plan" 2>"$BATS_FILE_TMPDIR/$node.log"
}

@test "a dry run in a booted node exits 0, prints its plan and changes nothing" {
  local before after status=0
  before="$(state "$NODE_BOOTED")"
  dry_run "$NODE_BOOTED" /sbin/init || status=$?
  after="$(state "$NODE_BOOTED")"
  cat "$BATS_FILE_TMPDIR/$NODE_BOOTED.plan"
  echo "exit $status, $(grep -c '' "$BATS_FILE_TMPDIR/$NODE_BOOTED.plan") plan lines" >"$BATS_FILE_TMPDIR/booted"
  [ "$status" -eq 0 ]
  head -n1 "$BATS_FILE_TMPDIR/$NODE_BOOTED.plan" | grep -q '^# kind-entrypoint-ts dry run'
  [ "$(tail -n1 "$BATS_FILE_TMPDIR/$NODE_BOOTED.plan")" = 'exec /sbin/init' ]
  # PID 1 is still systemd: nothing was exec'd.
  [ "$(docker exec "$NODE_BOOTED" cat /proc/1/comm)" = systemd ]
  diff -u --label 'before the dry run' --label 'after the dry run' \
    <(printf '%s\n' "$before") <(printf '%s\n' "$after")
  echo "exit 0, plan printed, state identical" >"$BATS_FILE_TMPDIR/booted"
}

@test "a dry run in a fresh node (entrypoint not yet run) changes nothing either" {
  local before after status=0
  before="$(state "$NODE_FRESH")"
  dry_run "$NODE_FRESH" true || status=$?
  after="$(state "$NODE_FRESH")"
  cat "$BATS_FILE_TMPDIR/$NODE_FRESH.plan"
  [ "$status" -eq 0 ]
  [ "$(tail -n1 "$BATS_FILE_TMPDIR/$NODE_FRESH.plan")" = 'exec true' ]
  diff -u --label 'before the dry run' --label 'after the dry run' \
    <(printf '%s\n' "$before") <(printf '%s\n' "$after")
  # The header counts the changes it lists: every entry but the final exec.
  local plan="$BATS_FILE_TMPDIR/$NODE_FRESH.plan" log="$BATS_FILE_TMPDIR/$NODE_FRESH.log" planned
  planned="$(sed -n 's/^# A real run would make \([0-9]*\) changes\{0,1\},.*/\1/p' "$plan")"
  [ "$planned" -eq $(($(grep -c '^[^# ]' "$plan") - 1)) ]
  # The log says what a real run would do, never that it is doing it.
  cat "$log"
  grep -qx 'INFO: (dry run) would clear and regenerate /etc/machine-id' "$log"
  grep -qx 'INFO: (dry run) would start init' "$log"
  run grep -E '^INFO: (clearing|remounting|making|faking|setting|starting)' "$log"
  [ "$status" -eq 1 ]
  echo "exit 0, $planned changes planned, state identical" >"$BATS_FILE_TMPDIR/fresh"
}

# Splits a plan into entries: $dir/N.head holds the entry's first line, $dir/N.body its indented
# lines (a diff, or restore input) with the indent removed. Prints the number of entries.
split_plan() {
  local plan=$1 dir=$2
  mkdir -p "$dir"
  awk -v dir="$dir" '
    /^#/ { next }
    /^    / { sub(/^    /, ""); print > (dir "/" n ".body"); next }
    { n++; print > (dir "/" n ".head"); printf "" > (dir "/" n ".body") }
    END { print n + 0 }
  ' "$plan"
}

# node_file NODE FILE: the file's bytes, or nothing and status 1 when it does not exist.
node_file() {
  docker exec "$1" sh -c 'test -f "$1" && cat "$1"' _ "$2"
}

# mountpoints NODE: PID 1's mount table as "MOUNTPOINT OPTIONS PROPAGATION" lines.
mountpoints() {
  docker exec "$1" awk '{
    prop = ""
    for (i = 7; $i != "-"; i++) { p = $i; sub(/:.*/, "", p); prop = prop (prop == "" ? "" : ",") p }
    print $5, $6, (prop == "" ? "private" : prop)
  }' /proc/1/mountinfo
}

# mounts_at FILE PATH: "OPTIONS PROPAGATION" of each entry of a mountpoints listing at PATH.
mounts_at() {
  awk -v p="$2" '$1 == p { print $2, $3 }' "$1"
}

@test "the dry run's plan predicts the real run that follows, entry by entry" {
  local plan="$BATS_FILE_TMPDIR/$NODE_FRESH.plan" dir="$BATS_FILE_TMPDIR/entries"
  [ -s "$plan" ] || dry_run "$NODE_FRESH" true
  local n i head target
  local -A planned_binds=() bind_sources=()
  n="$(split_plan "$plan" "$dir")"
  ((n > 10))

  # What the real run will change, as it is now.
  mkdir -p "$dir/before" "$dir/after"
  for ((i = 1; i <= n; i++)); do
    head="$(<"$dir/$i.head")"
    case $head in
      'write '* | 'copy '*)
        target="${head##* to }"
        target="${target#write }"
        node_file "$NODE_FRESH" "$target" >"$dir/before/$i" || rm -f "$dir/before/$i" ;;
      'run mount '*)
        # Where the mount lands: /sys/class/dmi/id is a symlink into /sys/devices/virtual.
        docker exec "$NODE_FRESH" readlink -f "${head##* }" >"$dir/before/$i.target"
        if [[ $head == 'run mount --bind '* || $head == 'run mount -o ro,bind '* ]]; then
          target="$(<"$dir/before/$i.target")"
          planned_binds[$target]=$((${planned_binds[$target]:-0} + 1))
          read -r _ _ _ _ source _ <<<"${head/--bind/-o bind}"
          bind_sources[$source]=1
        fi ;;
    esac
  done
  mountpoints "$NODE_FRESH" >"$dir/mounts.before"
  local machine_id_before
  machine_id_before="$(node_file "$NODE_FRESH" /etc/machine-id || true)"

  run docker exec "$NODE_FRESH" /usr/local/bin/entrypoint true
  echo "$output"
  [ "$status" -eq 0 ]
  mountpoints "$NODE_FRESH" >"$dir/mounts.after"
  local saved
  saved="$(docker exec "$NODE_FRESH" iptables-save)"

  local checked=0 binds=0 failures=0 mode owner expected after_value
  fail_entry() {
    echo "plan entry $i not borne out: $head"
    echo "  $1"
    failures=$((failures + 1))
  }
  for ((i = 1; i <= n; i++)); do
    head="$(<"$dir/$i.head")"
    case $head in
      'mkdir -p '*)
        docker exec "$NODE_FRESH" test -d "${head#mkdir -p }" || fail_entry 'no such directory' ;;
      'chown '*)
        read -r _ owner target <<<"$head"
        [ "$(docker exec "$NODE_FRESH" stat -c %u:%g "$target")" = "$owner" ] ||
          fail_entry "owner is $(docker exec "$NODE_FRESH" stat -c %u:%g "$target")" ;;
      'chmod '*)
        read -r _ mode target <<<"$head"
        [ "$(docker exec "$NODE_FRESH" stat -c %a "$target")" = "$((8#$mode))" ] ||
          [ "$(docker exec "$NODE_FRESH" stat -c %a "$target")" = "$(printf '%o' "$((8#$mode))")" ] ||
          fail_entry "mode is $(docker exec "$NODE_FRESH" stat -c %a "$target")" ;;
      'write '* | 'copy '*)
        target="${head##* to }"
        target="${target#write }"
        if ! node_file "$NODE_FRESH" "$target" >"$dir/after/$i"; then
          fail_entry 'file absent after the real run'
          continue
        fi
        [[ -f $dir/before/$i ]] || : >"$dir/before/$i"
        patch -s -N -o "$dir/expected.$i" "$dir/before/$i" <"$dir/$i.body" ||
          { fail_entry 'the planned diff does not apply to the file as it was'; continue; }
        if [[ $target == /kind/product_uuid ]]; then
          # A fresh random UUID each run: the plan can only predict its shape.
          grep -qxE '[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}' "$dir/after/$i" ||
            fail_entry "not a UUID: $(<"$dir/after/$i")"
        elif [[ $target == /etc/machine-id ]]; then
          # So is the machine-id (checked with the rm below).
          grep -qxE '[0-9a-f]{32}' "$dir/after/$i" || fail_entry "not a machine-id: $(<"$dir/after/$i")"
        else
          diff -u --label planned --label real "$dir/expected.$i" "$dir/after/$i" ||
            fail_entry 'content differs from the plan'
        fi ;;
      'rm -f /etc/machine-id')
        # Followed by the new id's write (or systemd-machine-id-setup): the id must be a new one.
        after_value="$(node_file "$NODE_FRESH" /etc/machine-id || true)"
        [[ $after_value =~ ^[0-9a-f]{32}$ && $after_value != "$machine_id_before" ]] ||
          fail_entry "machine-id is '$after_value' (was '$machine_id_before')" ;;
      'run systemd-machine-id-setup') ;; # checked with the rm above
      'run mount --bind '* | 'run mount -o ro,bind '*)
        binds=$((binds + 1))
        target="$(<"$dir/before/$i.target")"
        # Each planned bind mount on a path is one more entry at that path (two plan entries
        # may name one path through the /sys/class/dmi/id symlink).
        expected=$(($(mounts_at "$dir/mounts.before" "$target" | wc -l) + planned_binds[$target]))
        [ "$(mounts_at "$dir/mounts.after" "$target" | wc -l)" -eq "$expected" ] ||
          fail_entry "mountinfo has $(mounts_at "$dir/mounts.after" "$target" | wc -l) entries at $target, planned $expected"
        if [[ $head == *' ro,bind '* ]]; then
          mounts_at "$dir/mounts.after" "$target" | tail -n1 | grep -q '^ro,' ||
            fail_entry "the top mount at $target is not read-only"
        fi ;;
      'run mount -o remount,ro '*)
        mounts_at "$dir/mounts.after" "${head##* }" | grep -q '^ro,' || fail_entry 'not read-only' ;;
      'run mount --make-rshared '*)
        mounts_at "$dir/mounts.after" "${head##* }" | grep -q ' .*shared' || fail_entry 'not shared' ;;
      'run mount --make-rprivate '*)
        mounts_at "$dir/mounts.after" "${head##* }" | grep -q ' private$' || fail_entry 'not private' ;;
      'run update-alternatives --set '*)
        read -r _ _ _ mode target <<<"$head"
        [ "$(docker exec "$NODE_FRESH" update-alternatives --query "$mode" | sed -n 's/^Value: //p')" = "$target" ] ||
          fail_entry 'alternative not set' ;;
      'run iptables-restore'*)
        local line body
        body="$(<"$dir/$i.body")"
        while IFS= read -r line; do
          case $line in
            '+++ '* | '--- '* | '@@ '* | '+#'* | '-#'*) ;;
            +*) grep -qxF -- "${line#+}" <<<"$saved" || fail_entry "rule missing: ${line#+}" ;;
            -*)
              # Removed, unless the same line is added back elsewhere in the diff.
              if ! grep -qxF -- "+${line#-}" <<<"$body" && grep -qxF -- "${line#-}" <<<"$saved"; then
                fail_entry "rule still there: ${line#-}"
              fi ;;
          esac
        done <<<"$body" ;;
      'exec true') ;; # the real run exited 0 above, after exec'ing true
      *) fail_entry 'no check for this kind of entry: teach this test about it' ;;
    esac
    checked=$((checked + 1))
  done
  # And nothing beyond the plan: every new mount entry is a planned bind mount, or the echo of
  # one in its source. / is rshared by then, so a bind mount of a file from / joins /'s peer
  # group, and a second bind stacked on it (product_uuid's two sysfs paths) propagates back to
  # /kind/product_uuid itself. The original does the same; no plan can list it as a command.
  local new_mounts propagated=0 mnt
  new_mounts=$(($(wc -l <"$dir/mounts.after") - $(wc -l <"$dir/mounts.before")))
  while read -r mnt; do
    [[ -n $mnt ]] || continue
    if [[ -n ${bind_sources[$mnt]:-} ]]; then
      propagated=$((propagated + 1))
    else
      echo "new mount at $mnt that no bind mount in the plan explains"
      failures=$((failures + 1))
    fi
  done < <(cut -d' ' -f1 "$dir/mounts.after" | sort | comm -13 <(cut -d' ' -f1 "$dir/mounts.before" | sort) - |
    grep -vxF -f <(printf '%s\n' "${!planned_binds[@]}") || true)
  if ((new_mounts != binds + propagated)); then
    echo "$new_mounts new mount entries for $binds planned bind mounts (+$propagated propagated)"
    failures=$((failures + 1))
  fi
  echo "$n plan entries checked against the real run: $failures failures; $binds planned bind mounts + $propagated propagated = $new_mounts new mountinfo entries" |
    tee "$BATS_FILE_TMPDIR/predicts"
  [ "$failures" -eq 0 ]
}

@test "no packet from the dry-run nodes tried to leave the machine" {
  [ "$(e2e_egress_guard_packets)" -eq 0 ]
}
