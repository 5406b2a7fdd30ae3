/**
 * SIGTERM and SIGINT while the steps run. kind's bash dies wherever the signal finds it, which
 * can be between the truncation and the write of a file such as /etc/resolv.conf (rewritten in
 * place: it is a bind mount). The entrypoint instead notes the signal and stops at the next step
 * boundary with 128 + the signal's number, so every file is as it was or completely written.
 * The wait is bounded: every command has a time limit (lib/host.ts).
 *
 * The listeners cannot reach init: execve(2) resets caught signals to their default action, and
 * lib/exec.ts resets every disposition and the signal mask before it.
 */
import process from "node:process";
import { EntrypointError } from "./errors.ts";

/** The signals that stop the entrypoint, with their numbers (for the exit status). */
export const STOP_SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;

/** A signal that stops the entrypoint. */
export type StopSignal = keyof typeof STOP_SIGNALS;

let received: StopSignal | undefined;
const listeners = new Map<StopSignal, () => void>();

/** Installs the listeners: from now on a stop signal is only noted (see `throwIfStopRequested`). */
export function deferStopSignals(): void {
  for (const signal of Object.keys(STOP_SIGNALS) as StopSignal[]) {
    if (listeners.has(signal)) continue;
    const listener = () => noteStopSignal(signal);
    listeners.set(signal, listener);
    process.on(signal, listener);
  }
}

/** Removes the listeners (tests). */
export function releaseStopSignals(): void {
  for (const [signal, listener] of listeners) process.off(signal, listener);
  listeners.clear();
}

/** Records a stop signal; the first one received wins. */
export function noteStopSignal(signal: StopSignal | undefined): void {
  if (signal === undefined) received = undefined;
  else received ??= signal;
}

/** The stop signal received so far, if any. */
export function stopRequested(): StopSignal | undefined {
  return received;
}

/**
 * Throws the error that ends the run when a stop signal has arrived; `where` says how far the
 * run got ("before fix_mount", "after the last step").
 */
export function throwIfStopRequested(where: string): void {
  if (received === undefined) return;
  throw new EntrypointError(`Stopped by ${received} ${where}; init was not started`, {
    exitCode: 128 + STOP_SIGNALS[received],
  });
}
