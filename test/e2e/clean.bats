#!/usr/bin/env bats
# `npm run clean` removes what the test bed and `npm run image` made and nothing of a user's: an
# image built with the package's build-image stays (also one built on the test bed's stand-in base,
# whose label it inherits), and so does a `containers:` line in /etc/subuid or /etc/subgid that the
# podman tier did not add. package.bats checks the same on an image the packed package built.
#
# The shared test bed stays: clean runs with docker and podman wrapped (e2e_clean_recorded), so
# what it would remove is recorded and only this file's own throwaway images go for real. The
# subuid and subgid files are scratch copies (E2E_SUBID_FILES), the marker in a scratch cache.

# shellcheck source=test/e2e/lib.sh
source "$BATS_TEST_DIRNAME/lib.sh"
# shellcheck source=test/e2e/podman.sh
source "$BATS_TEST_DIRNAME/podman.sh"

PREFIX=kets-clean-test

# empty_image TAG LABEL...: an image of no files with the given labels (`KEY=VALUE`); prints its id.
empty_image() {
  local tag=$1 label
  local -a changes=()
  shift
  for label in "$@"; do changes+=(--change "LABEL $label"); done
  tar -cf - -T /dev/null | e2e_quiet docker import "${changes[@]}" - "$tag" || return 1
  docker images -q "$tag"
}

# A user's image on BASE: the labels the package's build-image sets, over those of the base.
user_image() {
  local tag=$1 base=$2
  printf 'FROM %s\nLABEL kind-entrypoint-ts.image=node kind-entrypoint-ts.build=package\n' "$base" |
    e2e_quiet docker build -t "$tag" - || return 1
  docker images -q "$tag"
}

# Fails when "$@" succeeds (a bare `! cmd` does not fail a bats test).
refute() {
  if "$@"; then
    echo "unexpectedly succeeded: $*"
    return 1
  fi
}

setup_file() {
  export E2E_FILE_START=$SECONDS
  e2e_ensure_dockerd
  remove_own_images
}

teardown_file() {
  remove_own_images
  e2e_result_time clean.bats "$((SECONDS - E2E_FILE_START))" \
    "$(grep -c '^@test' "$BATS_TEST_FILENAME")"
}

remove_own_images() {
  local -a tags
  mapfile -t tags < <(docker images --format '{{.Repository}}:{{.Tag}}' "$PREFIX/*")
  # Children first: each user image before the test bed's stand-in it was built on.
  for tag in "${tags[@]}"; do [[ $tag == */user* ]] && docker rmi -f "$tag" >/dev/null; done
  for tag in "${tags[@]}"; do [[ $tag == */user* ]] || docker rmi -f "$tag" >/dev/null 2>&1; done
  return 0
}

@test "clean removes the test bed's and npm run image's images, and never a user's built with the package" {
  local bed checkout user_on_bed user
  bed="$(empty_image "$PREFIX/bed:1" "$E2E_LABEL=base")"
  checkout="$(empty_image "$PREFIX/checkout:1" kind-entrypoint-ts.build=checkout \
    kind-entrypoint-ts.image=node)"
  user_on_bed="$(user_image "$PREFIX/user-on-bed:1" "$PREFIX/bed:1")"
  # As on kind's node image: a base with none of the project's labels.
  empty_image "$PREFIX/kindest:1" >/dev/null
  user="$(user_image "$PREFIX/user:1" "$PREFIX/kindest:1")"
  local log="$BATS_TEST_TMPDIR/removed"
  E2E_CACHE_DIR="$BATS_TEST_TMPDIR/cache" E2E_SUBID_FILES="$BATS_TEST_TMPDIR/none" \
    run e2e_clean_recorded "$log" "$bed" "$checkout"
  echo "$output"
  cat "$log"
  [ "$status" -eq 0 ]
  grep -qxF "docker rmi -f $checkout" "$log"
  grep -qxF "docker rmi -f $bed" "$log"
  refute grep -F -e "$user_on_bed" -e "$user" "$log"
  # The image npm run image built is gone; the stand-in stays under the user's image built on it.
  refute e2e_image_exists "$PREFIX/checkout:1"
  grep -qxF "e2e: kept docker image $bed: other images are built on it" <<<"$output"
  e2e_image_exists "$PREFIX/bed:1"
  e2e_image_exists "$PREFIX/user-on-bed:1"
  e2e_image_exists "$PREFIX/user:1"
}

@test "clean takes out the subuid and subgid lines the podman tier added, and leaves one it found" {
  local dir="$BATS_TEST_TMPDIR" file
  export E2E_CACHE_DIR="$dir/cache"
  printf 'root:100000:65536\n%s\n' "$E2E_SUBID_LINE" >"$dir/subuid"
  printf 'root:100000:65536\n' >"$dir/subgid"
  cp "$dir/subuid" "$dir/subuid.before"
  export E2E_SUBID_FILES="$dir/subuid $dir/subgid"
  source "$BATS_TEST_DIRNAME/podman.sh"
  e2e_subid_ensure
  [ "$(cat "$dir/subgid")" = "$(printf 'root:100000:65536\n%s' "$E2E_SUBID_LINE")" ]
  cmp "$dir/subuid" "$dir/subuid.before"
  run e2e_clean_recorded "$dir/removed"
  echo "$output"
  [ "$status" -eq 0 ]
  grep -qxF "clean: removed $E2E_SUBID_LINE from $dir/subgid" <<<"$output"
  [ "$(cat "$dir/subgid")" = root:100000:65536 ]
  cmp "$dir/subuid" "$dir/subuid.before"
  [ ! -e "$E2E_CACHE_DIR/podman-subid-added" ]
  # A second clean finds no marker and changes nothing.
  run e2e_clean_recorded "$dir/removed"
  [ "$status" -eq 0 ]
  refute grep -q 'clean: removed containers' <<<"$output"
  cmp "$dir/subuid" "$dir/subuid.before"
}
