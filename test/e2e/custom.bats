#!/usr/bin/env bats
# A custom node image built on the public API (mod.ts): examples/registry-mirror, bundled and
# built by scripts/build-image.ts with ENTRY, exactly as `ENTRY=... npm run image` does (in the
# checkout, its import of kind-entrypoint-ts is this checkout's mod.ts). Its two steps
# (a containerd registry mirror, an extra CA) must run at boot, show in the dry-run plan, and
# stop the boot with one ERROR line on bad input.
#
# Nodes: MIRROR (booted, mirror and CA bundle given), FRESH (the image, entrypoint not yet run),
# BAD (a mirror that is not a URL).

# shellcheck source=test/e2e/lib.sh
source "$BATS_TEST_DIRNAME/lib.sh"

NODE_MIRROR=kets-custom-mirror
NODE_FRESH=kets-custom-fresh
NODE_BAD=kets-custom-bad
MIRROR=https://mirror.example:5000
CA_BUNDLE=$E2E_REPO/examples/registry-mirror/testdata/ca.crt
CUSTOM_IMAGE=kind-entrypoint-ts/custom-registry-mirror:test

setup_file() {
  export E2E_FILE_START=$SECONDS
  e2e_ensure_dockerd
  e2e_rm "$NODE_MIRROR" "$NODE_FRESH" "$NODE_BAD"
  ENTRY="$E2E_REPO/examples/registry-mirror/entrypoint.ts" E2E_NODE_IMAGE=$CUSTOM_IMAGE \
    e2e_node_image >/dev/null
  e2e_network
  e2e_egress_guard_on
  local -a given=(-e "KIND_REGISTRY_MIRROR=$MIRROR" -v "$CA_BUNDLE:/etc/kind-ca/ca.crt:ro")
  e2e_run_node "$NODE_MIRROR" "$CUSTOM_IMAGE" "${given[@]}" >/dev/null 2>&1
  e2e_run_node "$NODE_FRESH" "$CUSTOM_IMAGE" "${given[@]}" -e E2E_SKIP_ENTRYPOINT=1 \
    -- sleep infinity >/dev/null 2>&1
  e2e_run_node "$NODE_BAD" "$CUSTOM_IMAGE" -e 'KIND_REGISTRY_MIRROR=mirror.example:5000' \
    >/dev/null 2>&1
  e2e_wait_booted "$NODE_MIRROR"
}

teardown_file() {
  e2e_rm "$NODE_MIRROR" "$NODE_FRESH" "$NODE_BAD"
  e2e_egress_guard_off || true
  e2e_result_time custom.bats "$((SECONDS - E2E_FILE_START))" \
    "$(grep -c '^@test' "$BATS_TEST_FILENAME")"
}

@test "the custom image boots to systemd, its steps logging first (right after containerd's)" {
  local logs
  logs="$(e2e_logs "$NODE_MIRROR")"
  printf '%s\n' "$logs" | grep -E '^(INFO|WARN|ERROR): '
  grep -qE 'Reached target .*Multi-User System' <<<"$logs"
  [ "$(grep -c '^ERROR: ' <<<"$logs")" -eq 0 ]
  # kind's userns and containerd steps say nothing on this node; fix_mount's lines come next.
  # The test bed's containerd config has no config_path, which the example warns about.
  diff -u - <(grep -E '^(INFO|WARN|ERROR): ' <<<"$logs" | head -n4) <<EOF
INFO: using $MIRROR as a mirror of docker.io
WARN: /etc/containerd/config.toml does not set config_path = "/etc/containerd/certs.d": containerd will not read the mirror
INFO: adding 2 CA certificate(s) from /etc/kind-ca/ca.crt to the trust store
INFO: ensuring we can execute mount/umount even with userns-remap
EOF
}

@test "the custom image's files are in the node: hosts.toml and a trusted extra CA" {
  run docker exec "$NODE_MIRROR" cat /etc/containerd/certs.d/docker.io/hosts.toml
  [ "$status" -eq 0 ]
  echo "$output"
  [ "${lines[1]}" = 'server = "https://registry-1.docker.io"' ]
  [ "${lines[2]}" = "[host.\"$MIRROR\"]" ]
  [ "${lines[3]}" = '  capabilities = ["pull", "resolve"]' ]
  docker exec "$NODE_MIRROR" ls /usr/local/share/ca-certificates/kind-ca-1.crt \
    /usr/local/share/ca-certificates/kind-ca-2.crt
  # update-ca-certificates ran: both certificates are in the bundle and verify against the store.
  local n
  for n in 1 2; do
    docker exec "$NODE_MIRROR" openssl verify -CApath /etc/ssl/certs \
      "/usr/local/share/ca-certificates/kind-ca-$n.crt"
    docker exec "$NODE_MIRROR" grep -qF "$(sed -n 2p <(docker exec "$NODE_MIRROR" cat "/usr/local/share/ca-certificates/kind-ca-$n.crt"))" \
      /etc/ssl/certs/ca-certificates.crt
  done
}

@test "the custom image's dry run plans its files and update-ca-certificates, changing nothing" {
  local plan
  # The shim has done its work once PID 1 is sleep; a node still starting fails here, by name.
  e2e_wait_pid1 "$NODE_FRESH" sleep
  run docker exec -e KIND_ENTRYPOINT_DRY_RUN=1 "$NODE_FRESH" /usr/local/bin/entrypoint /sbin/init
  [ "$status" -eq 0 ]
  plan="$output"
  printf '%s\n' "$plan"
  # The example's entries come first (kind's userns and containerd steps change nothing on this
  # node; the base already has /usr/local/share/ca-certificates), then the proxy step's.
  diff -u - <(grep -E '^[a-z]' <<<"$plan" | head -n6) <<'EOF'
mkdir -p /etc/containerd/certs.d/docker.io
write /etc/containerd/certs.d/docker.io/hosts.toml
write /usr/local/share/ca-certificates/kind-ca-1.crt
write /usr/local/share/ca-certificates/kind-ca-2.crt
run update-ca-certificates
mkdir -p /etc/systemd/system.conf.d
EOF
  grep -qxF 'INFO: (dry run) would add 2 CA certificate(s) from /etc/kind-ca/ca.crt to the trust store' <<<"$plan"
  grep -qxF "    +[host.\"$MIRROR\"]" <<<"$plan"
  [ "$(tail -n1 <<<"$plan")" = 'exec /sbin/init' ]
  # Nothing was written.
  run docker exec "$NODE_FRESH" test -e /etc/containerd/certs.d/docker.io/hosts.toml
  [ "$status" -ne 0 ]
  run docker exec "$NODE_FRESH" test -e /usr/local/share/ca-certificates/kind-ca-1.crt
  [ "$status" -ne 0 ]
}

@test "a mirror that is not a URL stops the boot with one ERROR line and exit status 1" {
  local status_code logs
  # a bound for a node that never stops, far above a loaded machine's start-up
  status_code="$(timeout 120 docker wait "$NODE_BAD")"
  logs="$(e2e_logs "$NODE_BAD")"
  printf '%s\n' "$logs"
  [ "$status_code" -eq 1 ]
  [ "$(grep -c '^ERROR: ' <<<"$logs")" -eq 1 ]
  grep -qxF 'ERROR: registry_mirror: KIND_REGISTRY_MIRROR="mirror.example:5000": not a URL (expected http:// or https:// and a host, e.g. https://mirror.example:5000)' <<<"$logs"
  # init never started.
  ! grep -q 'systemd' <<<"$logs" || false
  ! grep -q '^INFO: starting init' <<<"$logs"
}
