/**
 * SIGTERM, SIGINT and SIGRTMIN+3 while the steps run. kind's bash dies wherever the signal finds
 * it, which can be between the truncation and the write of a file such as /etc/resolv.conf
 * (rewritten in place: it is a bind mount); as PID 1, though, it has no handler, and the kernel
 * drops every such signal, so `docker stop` (SIGRTMIN+3, the image's STOPSIGNAL) waits out its
 * grace period and then SIGKILLs the node wherever it is. The entrypoint instead notes the signal
 * and stops at the next step boundary with 128 + the signal's number, so every file is as it was
 * or completely written. The wait is bounded: every command has a time limit (lib/host/real.ts).
 *
 * The listeners cannot reach init: execve(2) resets caught signals to their default action, and
 * lib/host/exec.ts resets every disposition, the signal mask and the alarm before it.
 */
import { EntrypointError } from "../errors.ts";
import { type Libc, loadLibc } from "../host/ffi.ts";

/** The signals that stop the entrypoint, with their numbers (for the exit status). */
export const STOP_SIGNALS = { SIGINT: 2, SIGTERM: 15, "SIGRTMIN+3": 37 } as const;

/** A signal that stops the entrypoint. */
export type StopSignal = keyof typeof STOP_SIGNALS;

/** The signals the runtime can listen for, and the stop each one means. */
const LISTENED = { SIGINT: "SIGINT", SIGTERM: "SIGTERM", SIGALRM: "SIGRTMIN+3" } as const;

let received: StopSignal | undefined;
const listeners = new Map<keyof typeof LISTENED, () => void>();
/** libc, while SIGRTMIN+3 is caught through alarm() (see `catchRealtimeStop`). */
let alarmLibc: Libc | undefined;

/** Installs the handlers: from now on a stop signal is only noted (see `throwIfStopRequested`). */
export function deferStopSignals(): void {
  for (const signal of Object.keys(LISTENED) as (keyof typeof LISTENED)[]) {
    if (listeners.has(signal)) continue;
    const listener = () => noteStopSignal(LISTENED[signal]);
    listeners.set(signal, listener);
    Deno.addSignalListener(signal, listener);
  }
  alarmLibc ??= catchRealtimeStop();
}

/**
 * Neither Deno nor Node can listen for a real-time signal, and a handler written in JavaScript
 * could not run inside a signal handler anyway. So SIGRTMIN+3's handler is libc's alarm(): the
 * kernel calls it with the signal's number, 37, which arms SIGALRM 37 s ahead; alarm(2) is
 * async-signal-safe and leaves a trace that `stopRequested` reads (and disarms) at every step
 * boundary. A step that outlasts 37 s gets the SIGALRM, which is listened for and means the same.
 * Undefined without FFI (Node): SIGRTMIN+3 then keeps its default action.
 */
function catchRealtimeStop(): Libc | undefined {
  const libc = loadLibc();
  const alarm = libc?.dlsym?.(null, new TextEncoder().encode("alarm\0"));
  if (!libc?.signal || !libc.alarm || !alarm) return undefined;
  libc.signal(STOP_SIGNALS["SIGRTMIN+3"], alarm);
  return libc;
}

/** Removes the handlers and disarms the alarm (tests). */
export function releaseStopSignals(): void {
  for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
  listeners.clear();
  if (alarmLibc) {
    alarmLibc.signal(STOP_SIGNALS["SIGRTMIN+3"], null);
    alarmLibc.alarm!(0);
    alarmLibc = undefined;
  }
}

/** Records a stop signal; the first one received wins. */
export function noteStopSignal(signal: StopSignal | undefined): void {
  if (signal === undefined) received = undefined;
  else received ??= signal;
}

/** The stop signal received so far, if any (an armed alarm is a SIGRTMIN+3 received). */
export function stopRequested(): StopSignal | undefined {
  if (alarmLibc && alarmLibc.alarm!(0) > 0) noteStopSignal("SIGRTMIN+3");
  return received;
}

/**
 * Throws the error that ends the run when a stop signal has arrived; `where` says how far the
 * run got ("before fix_mount", "after the last step").
 */
export function throwIfStopRequested(where: string): void {
  const signal = stopRequested();
  if (signal === undefined) return;
  throw new EntrypointError(`Stopped by ${signal} ${where}; init was not started`, {
    exitCode: 128 + STOP_SIGNALS[signal],
  });
}
