/**
 * The opt-in timing trace (`KIND_ENTRYPOINT_TRACE=1`, which bench/ reads): how long start-up and
 * each step took and how much memory the process peaked at, as `TRACE:` lines on stderr. The
 * entrypoint loads this module only when the switch is on, and watches the steps through it
 * (`StepObserver` of lib/boot/run.ts); without it nothing is printed, since the node's log lines are
 * an interface.
 */
import { STANDARD_STREAMS } from "../host/command.ts";
import { type FileQueries, readOptional } from "../host/host.ts";
import type { StepObserver } from "./run.ts";
import { grepLines } from "../host/proc.ts";

/** USER_HZ: /proc/PID/stat counts a process's start time in these ticks. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Times the steps of one run: prints how long each took (also when it throws), and before exec the exec stamp and the peak resident set size. */
export type Trace = Required<StepObserver>;

/** What the trace reads and where its lines go (stderr unless a test passes `write`). */
export interface TraceOptions {
  write?: (text: string) => void;
  /** Epoch milliseconds with sub-millisecond precision. */
  now?: () => number;
  /** Milliseconds since the runtime's time origin (when the bundle began to evaluate). */
  sinceOrigin?: () => number;
  /**
   * `sinceOrigin()` when `main` began, if that was before the trace started: what `main` did
   * first (the cache mount, the signal handlers, the switches) then counts as setup, not import.
   */
  mainEnteredAt?: number;
}

/** Starts the trace: prints the start-up lines now; call it before the first step. */
export function startTrace(host: FileQueries, options: TraceOptions = {}): Trace {
  const write = options.write ??
    ((text: string) => STANDARD_STREAMS.stderr(new TextEncoder().encode(text)));
  const now = options.now ?? (() => performance.timeOrigin + performance.now());
  const sinceOrigin = options.sinceOrigin ?? (() => performance.now());
  const line = (text: string) => write(`TRACE: ${text}\n`);

  const tracedAt = sinceOrigin();
  const imported = options.mainEnteredAt ?? tracedAt;
  const mainAt = now() - (tracedAt - imported);
  const uptime = readOptional(host, "/proc/uptime");
  const stat = readOptional(host, "/proc/self/stat");
  const startup = uptime && stat ? processAgeMillis(uptime, stat) : undefined;
  // Since this PID started (±10 ms): an exec into it, like the launcher's, keeps that time.
  if (startup !== undefined) line(`startup took ${startup} ms (process start to main, ±10 ms)`);
  line(`import took ${imported.toFixed(1)} ms (runtime time origin to main)`);
  line(`main at ${epochSeconds(mainAt)}`);
  // Between the steps' own times: main's work before the first step, and after the last one.
  let lastEnd: number | undefined;

  return {
    async step(name, fn) {
      const start = now();
      if (lastEnd === undefined) {
        line(`setup took ${(start - mainAt).toFixed(1)} ms (main to the first step)`);
      }
      try {
        return await fn();
      } finally {
        lastEnd = now();
        line(`step ${name} took ${(lastEnd - start).toFixed(1)} ms`);
      }
    },
    beforeExec() {
      const execAt = now();
      line(`finish took ${(execAt - (lastEnd ?? mainAt)).toFixed(1)} ms (last step to exec)`);
      line(`exec at ${epochSeconds(execAt)}`);
      const status = readOptional(host, "/proc/self/status");
      const hwm = status === undefined ? undefined : peakRssKb(status);
      if (hwm !== undefined) line(`VmHWM ${hwm} kB`);
    },
  };
}

/** `VmHWM` (peak resident set size) in kB from /proc/PID/status text. */
export function peakRssKb(status: string): number | undefined {
  for (const line of grepLines(status)) {
    const match = /^VmHWM:\s+(\d+) kB$/.exec(line);
    if (match) return Number(match[1]);
  }
  return undefined;
}

/**
 * How long ago the process started, in whole ms, from /proc/uptime and /proc/self/stat (field
 * 22, in clock ticks since boot, after the parenthesised command name that may hold spaces).
 */
export function processAgeMillis(uptime: string, stat: string): number | undefined {
  const up = Number(uptime.split(" ")[0]);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const startTicks = Number(fields[19]);
  if (!Number.isFinite(up) || !Number.isFinite(startTicks)) return undefined;
  return Math.max(0, Math.round(up * 1000 - (startTicks * 1000) / CLOCK_TICKS_PER_SECOND));
}

/** Epoch milliseconds as seconds with six decimals, like bash's `$EPOCHREALTIME`. */
export function epochSeconds(ms: number): string {
  return (ms / 1000).toFixed(6);
}
