import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { REPO } from "./support/bundle.ts";

Deno.test("scripts/build.mjs names a bundle outside the repository by its absolute path, wherever it runs", () => {
  const dir = Deno.makeTempDirSync();
  try {
    // As scripts/build-image.ts builds into its temporary context, started from another directory.
    const result = spawnSync("node", [`${REPO}/scripts/build.mjs`], {
      cwd: "/",
      env: { ...Deno.env.toObject(), OUTFILE: `${dir}/dist/entrypoint.js` },
      encoding: "utf8",
    });
    assert.equal(result.status, 0, result.stderr);
    const names = result.stdout.trim().split("\n").map((line) => line.replace(/: .*/, ""));
    assert.equal(names[0], `${dir}/dist/entrypoint.js`);
    for (const name of names) assert.ok(name.startsWith(`${dir}/dist/`), name);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("scripts/build.mjs names a bundle in the repository relative to it, wherever it runs", () => {
  const result = spawnSync("node", [`${REPO}/scripts/build.mjs`], { cwd: "/", encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  const names = result.stdout.trim().split("\n").map((line) => line.replace(/: .*/, ""));
  assert.equal(names[0], "dist/entrypoint.js");
  for (const name of names) assert.match(name, /^dist\/[^/]+$/);
});
