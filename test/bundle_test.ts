import assert from "node:assert/strict";
import { join } from "node:path";
import { buildBundle, DENO, REPO, testEnvironment } from "./support/bundle.ts";

/** Every module specifier the text of a bundle still imports or requires at run time. */
function importedSpecifiers(code: string): string[] {
  const patterns = [
    /^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\s*\(\s*["'`]([^"'`]+)["'`]\s*\)/g,
    /\brequire\s*\(\s*["'`]([^"'`]+)["'`]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[1]));
}

Deno.test("importedSpecifiers() finds static, dynamic and require imports", () => {
  const code = 'import { a } from "node:fs";\nimport "x";\nconst m = await import("node:dns");\n' +
    'const z = require("zx/core");\nexport { b } from "./b.js";\n';
  assert.deepEqual(importedSpecifiers(code), ["node:fs", "./b.js", "x", "node:dns", "zx/core"]);
});

Deno.test("the boot bundle imports nothing at run time but the diagnosis: no node: module, no zx", () => {
  buildBundle();
  const code = Deno.readTextFileSync(join(REPO, "dist/entrypoint.js"));
  // The one import: the diagnosis bundle beside it, only for KIND_ENTRYPOINT_DIAGNOSE.
  assert.deepEqual(importedSpecifiers(code), ["./diagnose.js"]);
  assert.doesNotMatch(code, /node_modules\/zx\b|ProcessPromise/, "zx is not bundled in either");
  assert.doesNotMatch(code, /\bcreateRequire\b/);
  // Deno runs these on node:timers: their first call loads Node.js compatibility (lib/host/timer.ts).
  assert.doesNotMatch(code, /\b(setTimeout|setInterval)\s*\(/);
});

Deno.test("a custom entrypoint built from mod.ts imports nothing either and runs under Deno", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const outfile = join(dir, "custom.js");
    const built = new Deno.Command("node", {
      args: ["scripts/build.mjs", "examples/registry-mirror/entrypoint.ts", outfile],
      cwd: REPO,
    }).outputSync();
    assert.equal(built.code, 0, new TextDecoder().decode(built.stderr));
    assert.deepEqual(importedSpecifiers(Deno.readTextFileSync(outfile)), ["./diagnose.js"]);
    const run = new Deno.Command(DENO, {
      args: ["run", "-A", outfile],
      clearEnv: true,
      env: testEnvironment({ KIND_ENTRYPOINT_DRY_RUN: "1" }),
    }).outputSync();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    assert.match(new TextDecoder().decode(run.stdout), /^# kind-entrypoint-ts dry run/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
