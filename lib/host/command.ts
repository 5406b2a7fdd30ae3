/**
 * Running one program, bounded, through `Deno.Command`: no shell, no Node.js compatibility layer.
 *
 * Semantics: argv words are passed as they are (the program is found through PATH), stdin is
 * closed unless there is input, stdout and stderr are collected whole, and the result is given
 * once the program has exited and both pipes have closed. The program starts in a session of its
 * own (`detached`: setsid(2) in the child), so its process ID is the ID of a process group that
 * holds everything it starts: at its bound the group gets SIGTERM, and SIGKILL after a grace
 * period. A program said to start none (`startsNoPrograms`) gets no session and its bound signals
 * its PID alone: without setsid(2) in the child, the runtime can start it with vfork instead of
 * copying this process's page tables. A pipe still held open after that (by a process that left
 * the group) is abandoned. A
 * program that cannot be started answers like bash would: status 127 when it is not found, 126
 * when it cannot be executed, with the reason on stderr. A program that exits without reading
 * all its input (a write fails with EPIPE) is judged by its exit status alone.
 */
import { CommandError } from "../errors.ts";
import {
  commandFailure,
  DEFAULT_COMMAND_TIMEOUT_MS,
  type RunOptions,
  type RunResult,
} from "./host.ts";
import { EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND } from "../exit_status.ts";
import { formatLogLine } from "../log.ts";
import { after, type Timer } from "./timer.ts";
import { candidatePaths } from "./exec.ts";

/** After SIGTERM, how long a timed-out command has before its process group gets SIGKILL. */
export const KILL_GRACE_MS = 1_000;
/** After SIGKILL, how long to wait for its output pipes to close before giving up on them. */
export const ABANDON_AFTER_KILL_MS = 1_000;

/** What a finished program left behind. */
export interface ProgramOutput {
  /** Exit status; null when killed by a signal. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** Where `runCommand` writes forwarded output and its warnings (tests capture them). */
export interface Streams {
  stdout(bytes: Uint8Array): void;
  stderr(bytes: Uint8Array): void;
}

/** Writes all of `bytes` to `stream` (a standard stream or an open file). */
export function writeAllSync(stream: { writeSync(p: Uint8Array): number }, bytes: Uint8Array) {
  for (let offset = 0; offset < bytes.length;) {
    offset += stream.writeSync(bytes.subarray(offset));
  }
}

/** This process's own stdout and stderr. */
export const STANDARD_STREAMS: Streams = {
  stdout: (bytes) => writeAllSync(Deno.stdout, bytes),
  stderr: (bytes) => writeAllSync(Deno.stderr, bytes),
};

/**
 * Runs `argv` within `options.timeoutMs` (see the module's semantics) and handles its output as
 * `options` asks. Throws the `CommandError` of `commandFailure` when the status is not 0, unless
 * `nothrow`; a command stopped at its bound under `nothrow` is tolerated with a `WARN` line.
 */
export async function runCommand(
  argv: readonly string[],
  options: RunOptions = {},
  streams: Streams = STANDARD_STREAMS,
): Promise<RunResult> {
  const stdoutMode = options.stdout ?? "capture";
  const stderrMode = options.stderr ?? "forward";
  const bound = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  const { exitCode, stdout, stderr, timedOut } = await runBounded(argv, {
    input: options.input,
    timeoutMs: bound,
    startsNoPrograms: options.startsNoPrograms,
  });
  const result: RunResult = {
    argv,
    status: exitCode,
    stdout: stdoutMode === "capture" ? stdout : "",
    stderr: stderrMode === "ignore" ? "" : stderr,
    timedOut,
  };
  const encoder = new TextEncoder();
  if (stdoutMode === "forward" && stdout) streams.stdout(encoder.encode(stdout));
  if (stderrMode === "forward" && stderr) streams.stderr(encoder.encode(stderr));
  if (result.status !== 0 && !options.nothrow) throw commandFailure(result, bound);
  if (timedOut) {
    // Tolerated like any failure of this command, but a hang is worth a line in the log.
    streams.stderr(encoder.encode(formatLogLine("WARN", commandFailure(result, bound).message)));
  }
  return result;
}

/** Options of `runBounded`. */
export interface BoundedOptions {
  /** Text written to stdin (stdin is /dev/null otherwise). */
  input?: string;
  /** When the process group gets SIGTERM. */
  timeoutMs: number;
  /** From SIGTERM to SIGKILL (default `KILL_GRACE_MS`). */
  graceMs?: number;
  /** From SIGKILL to giving up on the pipes (default `ABANDON_AFTER_KILL_MS`). */
  abandonMs?: number;
  /** No session of its own: its bound signals its PID, not a process group. */
  startsNoPrograms?: boolean;
}

/**
 * Starts `argv` and waits for it within its bound: what it left behind, and whether the bound
 * was reached (then `exitCode` is null, whatever the program said).
 */
export async function runBounded(
  argv: readonly string[],
  options: BoundedOptions,
): Promise<ProgramOutput & { timedOut: boolean }> {
  const [command, ...args] = argv;
  if (command === undefined) {
    throw new CommandError(argv, {
      status: EXIT_NOT_FOUND,
      stderr: "",
      reason: "could not be run: no program",
    });
  }
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args,
      stdin: options.input === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      detached: !options.startsNoPrograms,
    }).spawn();
  } catch (error) {
    const plain = error instanceof Deno.errors.NotFound
      ? plainFileInPath(command, Deno.env.get("PATH"))
      : undefined;
    return { ...notStarted(command, error, plain), timedOut: false };
  }
  if (options.input !== undefined) feed(child.stdin, options.input);
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  const finished = Promise.all([child.status, stdout.text, stderr.text]);

  let timedOut = false;
  // A negative PID is the process group: the program and everything it started.
  const target = options.startsNoPrograms ? child.pid : -child.pid;
  const timers: Timer[] = [];
  const abandoned = new Promise<undefined>((resolve) => {
    timers.push(after(options.timeoutMs, () => {
      timedOut = true;
      signal(target, "SIGTERM");
      timers.push(after(options.graceMs ?? KILL_GRACE_MS, () => {
        signal(target, "SIGKILL");
        timers.push(after(options.abandonMs ?? ABANDON_AFTER_KILL_MS, () => resolve(undefined)));
      }));
    }));
  });
  let done: Awaited<typeof finished> | undefined;
  try {
    done = await Promise.race([finished, abandoned]);
  } finally {
    for (const timer of timers) timer.cancel();
  }
  if (done === undefined) {
    // A process outside the group holds a pipe: stop reading, so nothing of this run stays open.
    await Promise.all([stdout.cancel(), stderr.cancel()]);
    child.unref();
    return { exitCode: null, stdout: await stdout.text, stderr: await stderr.text, timedOut };
  }
  const [status, out, err] = done;
  return {
    exitCode: timedOut || status.signal !== null ? null : status.code,
    stdout: out,
    stderr: err,
    timedOut,
  };
}

/** Writes `input` and closes stdin; a program that stops reading early only ends the write. */
function feed(stdin: WritableStream<Uint8Array>, input: string): void {
  const writer = stdin.getWriter();
  writer.write(new TextEncoder().encode(input)).then(() => writer.close()).catch(() => {});
  writer.closed.catch(() => {});
}

/** A pipe read to its end as UTF-8 text; `cancel` stops reading and keeps what came so far. */
function collect(stream: ReadableStream<Uint8Array>): {
  text: Promise<string>;
  cancel(): Promise<void>;
} {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  const text = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
    } catch {
      // Cancelled: what was read so far stands.
    }
    const decoder = new TextDecoder();
    return chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join("") +
      decoder.decode();
  })();
  return { text, cancel: () => reader.cancel().catch(() => {}) };
}

function signal(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch { /* already gone */ }
}

/**
 * The first file of PATH's entries named `command` without any execute bit, when none of them
 * could be run: bash then tries to execute it and fails with "Permission denied". A directory
 * does not count, nor an executable whose interpreter is missing (bash says 127 for that).
 */
function plainFileInPath(command: string, searchPath: string | undefined): string | undefined {
  if (command.includes("/")) return undefined;
  return candidatePaths(command, searchPath).find((path) => {
    try {
      const stat = Deno.statSync(path);
      return stat.isFile && ((stat.mode ?? 0) & 0o111) === 0;
    } catch {
      return false;
    }
  });
}

/**
 * bash's status for a program it cannot start, and why; `plainFile` is the non-executable file
 * PATH led to instead of the program, named in the reason as bash names it.
 */
export function notStarted(command: string, error: unknown, plainFile?: string): ProgramOutput {
  if (plainFile !== undefined) {
    return {
      exitCode: EXIT_CANNOT_EXECUTE,
      stdout: "",
      stderr: `${command}: ${plainFile}: Permission denied\n`,
    };
  }
  if (error instanceof Deno.errors.NotFound) {
    return { exitCode: EXIT_NOT_FOUND, stdout: "", stderr: `${command}: command not found\n` };
  }
  const reason = error instanceof Deno.errors.PermissionDenied
    ? "Permission denied"
    : error instanceof Error
    ? error.message
    : String(error);
  return { exitCode: EXIT_CANNOT_EXECUTE, stdout: "", stderr: `${command}: ${reason}\n` };
}
