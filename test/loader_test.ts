/**
 * The image's loader (loader.ts) on this machine: the script form of the entrypoint run through
 * node:vm, its code cache written at the exit of a run that asks for it, taken by V8 on the next
 * run, refused (and the script compiled) when it is damaged. The node image does the same in its
 * build and its boots (test/e2e/image_files.bats).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBundle, DENO, REPO, testEnvironment } from "./bundle.ts";

buildBundle();

/** A directory laid out like the image's: the loader and the script form side by side. */
const dir = mkdtempSync(join(tmpdir(), "kind-loader-test-"));
globalThis.addEventListener("unload", () => rmSync(dir, { recursive: true, force: true }));
copyFileSync(join(REPO, "dist/loader.js"), join(dir, "loader.js"));
copyFileSync(join(REPO, "dist/entrypoint.script.js"), join(dir, "entrypoint.script.js"));
const CACHE = join(dir, "entrypoint.script.cache");

/** Runs the loader with no step, traced; `env` adds to a minimal environment. */
function load(argv: string[] = [], env: Record<string, string> = {}) {
  const result = spawnSync(DENO, ["run", "-A", "--no-config", join(dir, "loader.js"), ...argv], {
    encoding: "utf8",
    env: testEnvironment({ KIND_ENTRYPOINT_TRACE: "1", ...env }),
  });
  const cache = /^TRACE: code cache: (.*)$/m.exec(result.stderr)?.[1];
  return { ...result, cache };
}

Deno.test("the loader writes the code cache at exit when asked, and V8 takes it on the next run", () => {
  const first = load([], { KIND_ENTRYPOINT_WRITE_CODE_CACHE: "1" });
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.cache, "missing (the script was compiled)");
  const bytes = statSync(CACHE).size;
  // Every function of the run, not only the top level: well over what compiling alone leaves.
  assert.ok(bytes > 64 * 1024, `${bytes} bytes`);

  const before = readFileSync(CACHE);
  const second = load();
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.cache, `accepted (${bytes} bytes)`);
  assert.match(second.stderr, /^INFO: starting init$/m);
  // Read, never written without the switch.
  assert.deepEqual(readFileSync(CACHE), before);
});

Deno.test("the loader runs the program as the module does: it execs the command", () => {
  const result = load(["/bin/echo", "from", "the script form"]);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, "from the script form\n");
});

Deno.test("a damaged code cache is refused by V8 and the script is compiled as usual", () => {
  const good = load([], { KIND_ENTRYPOINT_WRITE_CODE_CACHE: "1" });
  assert.equal(good.status, 0, good.stderr);
  const damaged = readFileSync(CACHE);
  for (let i = 0; i < 64; i++) damaged[i] ^= 0xff;
  writeFileSync(CACHE, damaged);
  const result = load();
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.cache, `rejected by V8 (${damaged.length} bytes; the script was compiled)`);
  assert.match(result.stderr, /^INFO: starting init$/m);
});

Deno.test("an entrypoint that exports cannot be built as a script, and the build says why", () => {
  const entry = join(dir, "exporting-entry.ts");
  writeFileSync(entry, 'export const answer = 42;\nconsole.log("hi");\n');
  const result = spawnSync(
    "node",
    [
      "--input-type=module",
      "-e",
      `
      import { bundleScript } from ${JSON.stringify(join(REPO, "scripts/build.mjs"))};
      await bundleScript(${JSON.stringify(entry)}, ${JSON.stringify(join(dir, "x.js"))});`,
    ],
    { cwd: REPO, encoding: "utf8" },
  );
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /cannot be built as a script .*must not export anything/);
});
