/**
 * The V8 code cache of the bundle's script form, which the image boots from.
 *
 * Deno keeps a code cache of every module it runs, but writes it when the module is compiled,
 * before it runs: V8 compiles a function only when it is first called, so the functions a boot
 * calls are compiled again at every boot. The image therefore runs the same program as a classic
 * script (`dist/entrypoint.script.js`, built beside `dist/entrypoint.js` by scripts/build.mjs)
 * through node:vm, with a cache that the image build wrote after a whole dry run
 * (`script.createCachedData()` at exit), and that holds those functions too. loader.ts is that
 * loader; this module is what it shares with the entrypoint: the names of the files and the
 * loader's report, which the trace prints.
 */

/** The script form of `NAME.js` is `NAME.script.js`; its code cache, `NAME.script.cache`. */
export const SCRIPT_SUFFIX = ".script.js";
export const CODE_CACHE_SUFFIX = ".script.cache";

/** What the loader found: the cache's size, and whether V8 took it. */
export interface CodeCacheStatus {
  /** Bytes of cache read; 0 when there was none. */
  bytes: number;
  /** V8 used it (false when there was none, or V8 refused it: another V8, other flags, other source). */
  accepted: boolean;
}

const STATUS = Symbol.for("kind-entrypoint-ts.code-cache");

/** Called by the loader before the script runs (and by tests, with undefined to clear it). */
export function setCodeCacheStatus(status: CodeCacheStatus | undefined): void {
  (globalThis as Record<symbol, unknown>)[STATUS] = status;
}

/** What the loader reported, or undefined when the program runs as a module (no loader). */
export function codeCacheStatus(): CodeCacheStatus | undefined {
  return (globalThis as Record<symbol, unknown>)[STATUS] as CodeCacheStatus | undefined;
}

/** The trace's words for `status`. */
export function describeCodeCache(status: CodeCacheStatus | undefined): string {
  if (status === undefined) return "none (run as a module: Deno's own cache only)";
  if (status.bytes === 0) return "missing (the script was compiled)";
  return status.accepted
    ? `accepted (${status.bytes} bytes)`
    : `rejected by V8 (${status.bytes} bytes; the script was compiled)`;
}
