/**
 * For the tests that run the built entrypoint as a program (exec_test.ts and others): where
 * it is, building it once per test process, and the environment it is started with.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const DENO = join(REPO, "node_modules/.bin/deno");

let built = false;

/** Runs scripts/build.mjs (dist/: the entrypoint's, the diagnosis's and the relay's bundles) once. */
export function buildBundle(): void {
  if (built) return;
  const result = spawnSync("node", ["scripts/build.mjs"], { cwd: REPO, encoding: "utf8" });
  assert.equal(result.status, 0, `npm run build failed: ${result.stderr}`);
  built = true;
}

/** The environment the entrypoint is started with in these tests: no step runs, then `extra`. */
export function testEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/root",
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    // Deno's cache where the test run keeps it (npm run mutate gives each run its own).
    ...(process.env.DENO_DIR ? { DENO_DIR: process.env.DENO_DIR } : {}),
    KIND_ENTRYPOINT_STEPS: "none",
    ...extra,
  };
}
