import assert from "node:assert/strict";
import { join } from "node:path";
import { buildBundle, REPO } from "./bundle.ts";

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

Deno.test("the boot bundle imports nothing at run time: no node: module, no zx", () => {
  buildBundle();
  const code = Deno.readTextFileSync(join(REPO, "dist/entrypoint.js"));
  assert.deepEqual(importedSpecifiers(code), []);
  assert.doesNotMatch(code, /node_modules\/zx\b|ProcessPromise/, "zx is not bundled in either");
  assert.doesNotMatch(code, /\bcreateRequire\b/);
});
