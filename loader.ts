/**
 * The image's loader (images/entrypoint runs it as `dist/loader.js`): runs the script form of
 * the entrypoint that lies beside it (`entrypoint.script.js`, the same program as
 * `entrypoint.js`) through node:vm, with the V8 code cache `entrypoint.script.cache` when there
 * is one, so that a boot deserializes the functions it calls instead of compiling them
 * (lib/code_cache.ts says why Deno's own cache does not hold them).
 *
 * The cache is written by the image build's warm-up run, which sets
 * KIND_ENTRYPOINT_WRITE_CODE_CACHE=1: at exit, after a whole dry run. A boot never writes it (it
 * ends in exec, not exit). Without a cache, or with one V8 refuses (another Deno, other V8 flags,
 * another script), the script is compiled as usual: slower, never different.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import process from "node:process";
import vm from "node:vm";
import { CODE_CACHE_SUFFIX, SCRIPT_SUFFIX, setCodeCacheStatus } from "./lib/code_cache.ts";

const base = new URL("./entrypoint", import.meta.url).pathname;
const scriptPath = base + SCRIPT_SUFFIX;
const cachePath = base + CODE_CACHE_SUFFIX;

const source = readFileSync(scriptPath, "utf8");
let cachedData: Uint8Array | undefined;
try {
  cachedData = readFileSync(cachePath);
} catch {
  // No cache: compiled as usual.
}
const script = new vm.Script(source, { filename: scriptPath, cachedData });
setCodeCacheStatus({
  bytes: cachedData?.length ?? 0,
  accepted: cachedData !== undefined && !script.cachedDataRejected,
});
if (process.env.KIND_ENTRYPOINT_WRITE_CODE_CACHE === "1") {
  // After the run, so that the cache holds every function the run compiled.
  globalThis.addEventListener("unload", () => {
    writeFileSync(`${cachePath}.tmp`, script.createCachedData());
    renameSync(`${cachePath}.tmp`, cachePath);
  });
}
// The script is `(async function (require) { ... })`: the bundle, reaching Node's built-in
// modules through `require` (scripts/build.mjs).
const run = script.runInThisContext() as (require: NodeJS.Require) => Promise<void>;
await run(createRequire(scriptPath));
