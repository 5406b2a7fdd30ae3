import assert from "node:assert/strict";
import { CACHE_MOUNT_ENV, releaseCacheMount } from "../lib/launcher.ts";
import { readSwitches } from "../lib/switches.ts";

Deno.test("releaseCacheMount() does nothing when the launcher mounted nothing", () => {
  assert.equal(releaseCacheMount({}), undefined);
  assert.equal(releaseCacheMount({ [CACHE_MOUNT_ENV]: "" }), undefined);
});

Deno.test("releaseCacheMount() calls umount2 on the named directory and says why it failed", () => {
  const missing = "/nonexistent/kind-entrypoint-ts-launcher-test";
  const message = releaseCacheMount({ [CACHE_MOUNT_ENV]: missing });
  assert.match(
    message ?? "",
    /^umount2\("\/nonexistent\/kind-entrypoint-ts-launcher-test", MNT_DETACH\) failed: .* \((ENOENT|EPERM)\)$/,
  );
});

Deno.test("readSwitches() takes the launcher's cache mount as an absolute path only", () => {
  assert.deepEqual(readSwitches({ [CACHE_MOUNT_ENV]: "/usr/local/lib/x" }), {
    [CACHE_MOUNT_ENV]: "/usr/local/lib/x",
  });
  assert.throws(() => readSwitches({ [CACHE_MOUNT_ENV]: "relative" }), /not an absolute path/);
});
