/**
 * Starting a program directly, without a shell. zx runs every command as `bash -c 'set -euo
 * pipefail; CMD'`: for the single programs the entrypoint runs (it never needs a pipeline or
 * globbing) that is one more program start per command, ~2 ms each in the test bed (measured:
 * zx/core 2.8-3.1 ms per `/bin/true` under Deno, a direct spawn 1.0-1.2 ms), plus loading zx
 * itself (~30 ms uncached).
 *
 * Semantics kept from the zx call it replaces: argv words are passed as they are, stdin is
 * closed unless there is input, stdout and stderr are collected whole, the program gets its own
 * process group (so a timeout can stop all it started), and the result is only given once both
 * pipes have closed. A program that cannot be started answers like bash would: status 127 when
 * it is not found, 126 when it cannot be executed, with the reason on stderr.
 */
import { spawn } from "node:child_process";

/** What a finished program left behind (the subset of zx's ProcessOutput the host reads). */
export interface SpawnOutput {
  /** Exit status; null when killed by a signal. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** A running program: resolves when it has exited and closed its pipes; `pid` to signal it. */
export type SpawnedProcess = Promise<SpawnOutput> & { pid: number | undefined };

/** Starts `argv` (resolved through PATH) in its own process group. */
export function spawnCommand(
  argv: readonly string[],
  options: { input?: string } = {},
): SpawnedProcess {
  const [command, ...args] = argv;
  const child = spawn(command, args, {
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    detached: true,
  });
  const done = new Promise<SpawnOutput>((resolve) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let startError: NodeJS.ErrnoException | undefined;
    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", (error: NodeJS.ErrnoException) => {
      startError = error;
    });
    child.on("close", (code: number | null) => {
      if (startError && code === null) {
        resolve(notStarted(command, startError));
        return;
      }
      resolve({
        exitCode: code,
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
      });
    });
  });
  if (options.input !== undefined && child.stdin) {
    // A program that exits without reading its input must not fail the run with EPIPE.
    child.stdin.on("error", () => {});
    child.stdin.end(options.input);
  }
  return Object.assign(done, { pid: child.pid });
}

/** bash's status for a program it cannot start, and why. */
function notStarted(command: string, error: NodeJS.ErrnoException): SpawnOutput {
  if (error.code === "ENOENT") {
    return { exitCode: 127, stdout: "", stderr: `${command}: command not found\n` };
  }
  const reason = error.code === "EACCES" ? "Permission denied" : error.message;
  return { exitCode: 126, stdout: "", stderr: `${command}: ${reason}\n` };
}
