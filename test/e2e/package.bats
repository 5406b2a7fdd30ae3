#!/usr/bin/env bats
# A user's repository: the packed npm package (`npm pack` of this checkout) installed offline
# into an empty directory outside the checkout, a step of its own with a test on the fake host,
# its types checked, and the image built with the package's command on the test bed's stand-in
# base and booted: the step's file is on the node; `npm run clean` would leave that image (the
# user's). docs/package.md's "Using it" is this path.
#
# npm's cache must hold the package's dependencies (`npm run setup` puts them there): the
# install runs with --offline, so nothing is asked of the registry.
#
# Nodes: NODE (booted from the project's image).

# shellcheck source=test/e2e/lib.sh
source "$BATS_TEST_DIRNAME/lib.sh"

NODE=kets-package-node
IMAGE=kind-entrypoint-ts/package-test-standin-not-for-kind:test
MOTD='built with kind-entrypoint-ts'

setup_file() {
  export E2E_FILE_START=$SECONDS
  e2e_ensure_dockerd
  e2e_rm "$NODE"
  local pack="$BATS_FILE_TMPDIR/pack"
  mkdir -p "$pack"
  (cd "$E2E_REPO" && npm pack --silent --pack-destination "$pack" >/dev/null)
  TARBALL="$(ls "$pack"/kind-entrypoint-ts-*.tgz)"
  PROJECT="$(mktemp -d /tmp/kets-package-project.XXXXXX)"
  export TARBALL PROJECT
  cd "$PROJECT"
  npm init -y >/dev/null
  npm pkg set type=module
  if ! npm install --offline --no-audit --no-fund "$TARBALL" >"$BATS_FILE_TMPDIR/npm.log" 2>&1; then
    cat "$BATS_FILE_TMPDIR/npm.log" >&2
    grep -q ENOTCACHED "$BATS_FILE_TMPDIR/npm.log" &&
      e2e_log "npm's cache lacks the package's dependencies: run npm run setup once"
    return 1
  fi
  cat >steps.ts <<'EOF'
import type { FileChanges, Step } from "kind-entrypoint-ts";

export const motd: Step = {
  name: "motd",
  run(host: FileChanges) {
    host.writeText("/etc/motd", "built with kind-entrypoint-ts\n");
  },
};
EOF
  cat >entrypoint.ts <<'EOF'
import { insertAfter, KIND_STEPS, main } from "kind-entrypoint-ts";
import { motd } from "./steps.ts";

await main(insertAfter(KIND_STEPS, "containerd", motd));
EOF
  cat >steps_test.ts <<'EOF'
import assert from "node:assert/strict";
import { insertAfter, KIND_STEPS } from "kind-entrypoint-ts";
import { boot, FakeHost } from "kind-entrypoint-ts/testing";
import { motd } from "./steps.ts";

Deno.test("motd writes /etc/motd", async () => {
  const host = new FakeHost({ dirs: ["/etc"], env: { KIND_ENTRYPOINT_STEPS: "motd" } });
  const result = await boot(host, insertAfter(KIND_STEPS, "containerd", motd));
  assert.equal(result.status, 0);
  assert.equal(host.files.get("/etc/motd"), "built with kind-entrypoint-ts\n");
});
EOF
  e2e_network
  e2e_egress_guard_on
}

teardown_file() {
  e2e_rm "$NODE"
  docker rmi -f "$IMAGE" >/dev/null 2>&1 || true
  e2e_egress_guard_off || true
  [[ -n ${PROJECT:-} && $PROJECT == /tmp/kets-package-project.* ]] && rm -rf "$PROJECT"
  e2e_result_time package.bats "$((SECONDS - E2E_FILE_START))" \
    "$(grep -c '^@test' "$BATS_TEST_FILENAME")"
}

# about ACTUAL DOCUMENTED UNIT: fails unless a figure the docs give as "about DOCUMENTED" is within
# a fifth of ACTUAL.
about() {
  local actual=$1 documented=$2 unit=$3
  ((actual * 5 >= documented * 4 && actual * 5 <= documented * 6)) || {
    echo "docs/package.md says about $documented $unit; it is $actual"
    return 1
  }
}

@test "the tarball holds the API with its types, the command and the image's files, and no tests" {
  local listing
  listing="$(tar -tzf "$TARBALL" | sed 's|^package/||' | sort)"
  echo "$listing"
  local path
  for path in package.json bin/kind-entrypoint-ts.mjs dist/npm/mod.js dist/npm/mod.d.ts \
    dist/npm/testing.js dist/npm/testing.d.ts dist/npm/scripts/build-image.js \
    dist/npm/scripts/build.mjs images/Dockerfile CHANGELOG.md docs/package.md; do
    grep -qxF "$path" <<<"$listing" || { echo "missing: $path"; return 1; }
  done
  # What the Dockerfile copies from the build context, but the entry's bundle.
  local copies
  copies="$(sed -nE 's/^COPY +([^-][^ ]*( [^ ]+)*) +[^ ]+$/\1/p' "$E2E_REPO/images/Dockerfile" | tr ' ' '\n')"
  [[ -n $copies ]]
  for path in $copies; do
    [[ $path == dist/entrypoint.js ]] && continue
    grep -qxF "$path" <<<"$listing" || { echo "the Dockerfile copies $path; not packed"; return 1; }
  done
  # No TypeScript sources, tests, goldens or bench results.
  ! grep -E '(^|/)(test|bench|golden|testdata)/|_test\.|\.bats$|[^d]\.ts$' <<<"$listing"
}

@test "docs/package.md's sizes are those of the tarball and of the Deno it installs" {
  local doc="$E2E_REPO/docs/package.md" figures mb
  figures="$(sed -nE 's/.*\(about ([0-9]+) files, a ([0-9]+) kB tarball\).*/\1 \2/p' "$doc")"
  [[ -n $figures ]]
  about "$(tar -tzf "$TARBALL" | grep -vc '/$')" "${figures% *}" files
  about "$(($(stat -c %s "$TARBALL") / 1000))" "${figures#* }" kB
  mb="$(sed -nE 's/.*brings its binary for the platform \(about ([0-9]+) MB.*/\1/p' "$doc")"
  [[ -n $mb ]]
  about "$(du -sm "$PROJECT"/node_modules/@deno/linux-* | awk '{ s += $1 } END { print s }')" "$mb" MB
}

@test "the project's own test of its step runs on the fake host of the installed package" {
  cd "$PROJECT"
  run npx --no-install deno test -A steps_test.ts
  echo "$output"
  [ "$status" -eq 0 ]
  grep -q 'motd writes /etc/motd \.\.\. .*ok' <<<"$output"
}

@test "deno check and tsc see the package's types and report a step that does not fit them" {
  cd "$PROJECT"
  npx --no-install deno check entrypoint.ts steps_test.ts
  cat >tsconfig.json <<'EOF'
{
  "compilerOptions": {
    "module": "nodenext",
    "strict": true,
    "noEmit": true,
    "allowImportingTsExtensions": true,
    "types": ["node"]
  },
  "files": ["entrypoint.ts", "steps.ts"]
}
EOF
  # tsc from the checkout (a project would install typescript itself), run in the project.
  "$E2E_REPO/node_modules/.bin/tsc" -p .
  printf '%s\n' 'import type { Step } from "kind-entrypoint-ts";' \
    'export const broken: Step = { name: 1, run() {} };' >broken.ts
  run npx --no-install deno check broken.ts
  [ "$status" -ne 0 ]
  grep -q "TS2322" <<<"$output"
  printf '%s\n' '{ "extends": "./tsconfig.json", "files": ["broken.ts"] }' >tsconfig.broken.json
  run "$E2E_REPO/node_modules/.bin/tsc" -p tsconfig.broken.json
  echo "$output"
  [ "$status" -ne 0 ]
  grep -q "broken.ts(2,.*TS2322: Type 'number' is not assignable to type 'string'" <<<"$output"
  rm -f broken.ts tsconfig.broken.json
}

@test "the registry-mirror example's tests pass as a project of its own" {
  cp -r "$E2E_REPO/examples/registry-mirror" "$PROJECT/registry-mirror"
  cd "$PROJECT/registry-mirror"
  npm install --offline --no-audit --no-fund "$TARBALL" >/dev/null 2>&1
  run npm test
  echo "$output"
  [ "$status" -eq 0 ]
  grep -qE '^ok \| [1-9][0-9]* passed \| 0 failed' <<<"$(sed 's/\x1b\[[0-9;]*m//g' <<<"$output")"
}

@test "build-image says in one line that a base image cannot be pulled" {
  cd "$PROJECT"
  # A registry on a closed loopback port: the pull fails without any name leaving the machine.
  run npx --no-install kind-entrypoint-ts build-image --entry ./entrypoint.ts --tag "$IMAGE" \
    --base localhost:1/no-such-base:1 --deno-image "$(e2e_deno_image)"
  echo "$output"
  [ "$status" -eq 1 ]
  grep -qxE 'build-image: cannot pull the base image localhost:1/no-such-base:1: .*connection refused.*' \
    <<<"$output"
  [ "$(grep -c '^build-image: ' <<<"$output")" -eq 1 ]
}

@test "build-image builds the project's image on the stand-in base, and a node from it has the step's file" {
  cd "$PROJECT"
  local base deno
  base="$(e2e_base_image)"
  deno="$(e2e_deno_image)"
  run npx --no-install kind-entrypoint-ts build-image --entry ./entrypoint.ts --tag "$IMAGE" \
    --base "$base" --deno-image "$deno"
  echo "$output"
  [ "$status" -eq 0 ]
  grep -qxF "build-image: WARNING: $IMAGE is NOT a kind node image." <<<"$output"
  [ "$(docker image inspect -f '{{index .Config.Labels "kind-entrypoint-ts.standin"}}' "$IMAGE")" = true ]
  [ "$(docker image inspect -f '{{index .Config.Labels "kind-entrypoint-ts.version"}}' "$IMAGE")" = \
    "$(node -p 'require(process.argv[1]).version' "$E2E_REPO/package.json")" ]
  e2e_run_node "$NODE" "$IMAGE" >/dev/null 2>&1
  e2e_wait_booted "$NODE" 60
  run docker exec "$NODE" cat /etc/motd
  [ "$status" -eq 0 ]
  [ "$output" = "$MOTD" ]
  [ "$(e2e_logs "$NODE" | grep -c '^ERROR: ')" -eq 0 ]
}

@test "npm run clean leaves the image the package built, though it is built on the test bed's stand-in" {
  local id log="$BATS_TEST_TMPDIR/removed"
  id="$(docker images -q "$IMAGE")"
  [ -n "$id" ]
  # Recorded, not carried out (e2e_clean_recorded): the rest of the test bed stays for other files.
  E2E_CACHE_DIR="$BATS_TEST_TMPDIR/cache" E2E_SUBID_FILES="$BATS_TEST_TMPDIR/none" \
    run e2e_clean_recorded "$log"
  echo "$output"
  # clean takes the egress guard out with the rest; the file's teardown expects it.
  e2e_egress_guard_on
  [ "$status" -eq 0 ]
  grep -q '^docker rmi ' "$log"
  if grep -F "$id" "$log"; then return 1; fi
  e2e_image_exists "$IMAGE"
}
