/**
 * Timers that leave Node.js compatibility unloaded. Deno runs `setTimeout` on its node:timers
 * implementation, whose first use loads and compiles some 250 KB of Node.js compatibility code
 * (timers, async hooks, Node's error table, libuv's error names) in every process, with a code
 * cache or without; `AbortSignal.timeout` is a timer of Deno's own web layer.
 *
 * Such a timer cannot be cleared: until it fires it keeps the process alive, which the
 * entrypoint, which always ends by exec or by exiting, never waits for. A cancelled timer fires
 * and does nothing.
 */

/** A timer started by `after`. */
export interface Timer {
  /** From now on the timer's function is not called. */
  cancel(): void;
}

/** Calls `fn` after `ms` milliseconds unless cancelled first. */
export function after(ms: number, fn: () => void): Timer {
  let cancelled = false;
  AbortSignal.timeout(Math.max(0, ms)).addEventListener("abort", () => {
    if (!cancelled) fn();
  }, { once: true });
  return {
    cancel() {
      cancelled = true;
    },
  };
}
