#!/usr/bin/env bats
# The image's own files after a boot and after a dry run, as `docker diff` shows them: nothing
# under /usr/local (the entrypoint, Deno and Deno's code cache are read, never written), and
# nothing that kind's script does not change too. Each node runs the entrypoint and then a command
# that exits, so the diff holds what the entrypoint changed and nothing systemd did.
#
# With KIND_ORIGINAL_ENTRYPOINT the port's diff is compared with the original's; without it only
# the /usr/local rule is checked, and the comparison says why it was skipped.

# shellcheck source=test/e2e/lib.sh
source "$BATS_TEST_DIRNAME/lib.sh"

NODE_PORT=kets-files-port
NODE_ORIGINAL=kets-files-original
NODE_DRY=kets-files-dry
# The command after the entrypoint: its exit status, 42, tells the test the entrypoint got there
# (docker keeps a container's exit status, while the last lines of its log can still be on their way
# when docker wait returns).
DONE_CMD=(/bin/sh -c 'echo entrypoint-done; exit 42')

setup_file() {
  export E2E_FILE_START=$SECONDS
  e2e_ensure_dockerd
  e2e_rm "$NODE_PORT" "$NODE_ORIGINAL" "$NODE_DRY"
  local image
  image="$(e2e_node_image)"
  e2e_network
  e2e_egress_guard_on
  e2e_run_node "$NODE_PORT" "$image" -- "${DONE_CMD[@]}" >/dev/null 2>&1
  e2e_run_node "$NODE_DRY" "$image" -e E2E_SKIP_ENTRYPOINT=1 -e E2E_FAKE_DMI=1 \
    -- sleep infinity >/dev/null 2>&1
  if [[ -n ${KIND_ORIGINAL_ENTRYPOINT:-} ]]; then
    e2e_run_node "$NODE_ORIGINAL" "$(e2e_original_image)" -- "${DONE_CMD[@]}" >/dev/null 2>&1
    docker wait "$NODE_ORIGINAL" >/dev/null
  fi
  docker wait "$NODE_PORT" >/dev/null
  e2e_wait_pid1 "$NODE_DRY" sleep
}

teardown_file() {
  e2e_rm "$NODE_PORT" "$NODE_ORIGINAL" "$NODE_DRY"
  e2e_egress_guard_off || true
  local cell
  for cell in boot dry; do
    [[ -f $BATS_FILE_TMPDIR/$cell ]] || echo 'not run' >"$BATS_FILE_TMPDIR/$cell"
  done
  e2e_result image_files.bats 'image files changed by a boot (docker diff)' \
    "$(cat "$BATS_FILE_TMPDIR/original" 2>/dev/null || echo 'not run')" \
    "$(<"$BATS_FILE_TMPDIR/boot")"
  e2e_result image_files.bats 'image files changed by a dry run (docker diff)' 'n/a (no dry run)' \
    "$(<"$BATS_FILE_TMPDIR/dry")"
  e2e_result image_files.bats "Deno's code cache read from the read-only mount" 'n/a (bash)' \
    "$(cat "$BATS_FILE_TMPDIR/cache" 2>/dev/null || echo 'not run')"
  e2e_result_time image_files.bats "$((SECONDS - E2E_FILE_START))" \
    "$(grep -c '^@test' "$BATS_TEST_FILENAME")"
}

# `docker diff` of a container, sorted: one `A|C|D PATH` line per changed path.
image_diff() {
  docker diff "$1" | sort
}

@test "a boot leaves nothing changed under /usr/local" {
  [ "$(docker inspect -f '{{.State.ExitCode}}' "$NODE_PORT")" = 42 ]
  local port
  port="$(image_diff "$NODE_PORT")"
  printf 'port:\n%s\n' "$port"
  echo "$(grep -c . <<<"$port") paths changed, none under /usr/local" >"$BATS_FILE_TMPDIR/boot"
  ! grep -E '^[ACD] /usr/local(/|$)' <<<"$port"
}

@test "a boot changes no image file that kind's script leaves unchanged" {
  if [[ -z ${KIND_ORIGINAL_ENTRYPOINT:-} ]]; then
    skip "KIND_ORIGINAL_ENTRYPOINT is not set: no original to compare with"
  fi
  [ "$(docker inspect -f '{{.State.ExitCode}}' "$NODE_ORIGINAL")" = 42 ]
  local port original extra
  port="$(image_diff "$NODE_PORT")"
  original="$(image_diff "$NODE_ORIGINAL")"
  printf 'port:\n%s\noriginal:\n%s\n' "$port" "$original"
  echo "$(grep -c . <<<"$original") paths changed" >"$BATS_FILE_TMPDIR/original"
  extra="$(comm -23 <(printf '%s\n' "$port") <(printf '%s\n' "$original"))"
  printf 'only the port changed:\n%s\n' "$extra"
  [ -z "$extra" ]
  echo "$(grep -c . <<<"$port") paths changed, none under /usr/local, all also changed by kind's script" \
    >"$BATS_FILE_TMPDIR/boot"
}

@test "a dry run changes none of the image's files" {
  local before after status=0
  before="$(image_diff "$NODE_DRY")"
  docker exec -e KIND_ENTRYPOINT_DRY_RUN=1 "$NODE_DRY" /usr/local/bin/entrypoint /sbin/init \
    >/dev/null 2>&1 || status=$?
  [ "$status" -eq 0 ]
  after="$(image_diff "$NODE_DRY")"
  diff -u --label 'docker diff before the dry run' --label 'docker diff after the dry run' \
    <(printf '%s\n' "$before") <(printf '%s\n' "$after")
  # The launcher makes no mount for a dry run, and the dry run detaches none.
  ! docker exec "$NODE_DRY" grep -q ' /usr/local/lib/kind-entrypoint-ts/deno-dir ' /proc/self/mountinfo || false
  echo "docker diff identical before and after" >"$BATS_FILE_TMPDIR/dry"
}

@test "the image's warm code cache is read from the read-only mount (not written, not lost)" {
  # What the launcher does, with Deno's debug log: the bundle found in the cache, no cache
  # database refused. A cache that Deno cannot open read-only would also pass the tests above
  # (nothing written), while every boot compiled the bundle from scratch.
  local dir=/usr/local/lib/kind-entrypoint-ts/deno-dir log
  log="$(docker exec -e KIND_ENTRYPOINT_DRY_RUN=1 -e DENO_DIR="$dir" \
    -e DENO_NO_UPDATE_CHECK=1 -e DENO_DISABLE_NODE_SHIM=1 "$NODE_DRY" sh -c "mount -o bind,ro $dir $dir &&
      /usr/local/bin/deno run --log-level=debug -A --no-prompt --cached-only --no-config \
        /usr/local/lib/kind-entrypoint-ts/entrypoint.js /sbin/init 2>&1 >/dev/null;
      umount $dir")"
  local hits
  hits="$(grep -c 'V8 code cache hit' <<<"$log" || true)"
  echo "$hits modules from the cache"
  grep 'Failed creating cache db' <<<"$log" || true
  ! grep -q 'Failed creating cache db' <<<"$log" || false
  # The bundle is one module and imports nothing.
  [ "$hits" -ge 1 ]
  echo "the bundle read from Deno's cache ($hits hit)" >"$BATS_FILE_TMPDIR/cache"
}
