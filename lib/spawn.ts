/**
 * Running one program through zx/core, without a shell.
 *
 * By default zx runs every command as `bash -c 'set -euo pipefail; CMD'`: for the single programs
 * the entrypoint runs (never a pipeline, a glob or a redirection) that is one more program start
 * per command, ~2 ms each in the test bed, and a second process to signal on a timeout. zx lets
 * the caller choose how words are quoted into the command line (`quote`) and how that line is
 * started (`spawn`): quoting each word as a JSON string and splitting the line back into those
 * words in our `spawn` starts the program itself, with zx's process handling (pipes, input,
 * collected output, nothrow) unchanged.
 *
 * Semantics: argv words are passed as they are, stdin is closed unless there is input, stdout
 * and stderr are collected whole, the program gets its own process group (so a timeout can stop
 * all it started), and the result is only given once both pipes have closed. A program that
 * cannot be started answers like bash would: status 127 when it is not found, 126 when it
 * cannot be executed, with the reason on stderr.
 */
import { spawn as nodeSpawn, type SpawnOptions } from "node:child_process";
import { $ } from "zx/core";

/** What a finished program left behind. */
export interface SpawnOutput {
  /** Exit status; null when killed by a signal. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** A running program: resolves when it has exited and closed its pipes; `pid` to signal it. */
export type SpawnedProcess = Promise<SpawnOutput> & { pid: number | undefined };

/** One argv word as it stands in the command line zx builds: a JSON string. */
export function quoteWord(word: unknown): string {
  return JSON.stringify(String(word));
}

/** The argv words of a command line built with `quoteWord`. */
export function splitWords(line: string): string[] {
  return [...line.matchAll(/"(?:[^"\\]|\\.)*"/g)].map((match) => JSON.parse(match[0]) as string);
}

/** zx's `spawn` hook: starts the words of the line directly, never through a shell. */
function spawnWords(line: string, _args: readonly string[], options: SpawnOptions) {
  const [command, ...args] = splitWords(line);
  const child = nodeSpawn(command, args, { ...options, shell: false });
  // A program that exits without reading all its input (iptables-restore failing early) makes
  // the write fail with EPIPE; its exit status tells what happened, the write error must not
  // end the entrypoint as an uncaught exception.
  child.stdin?.on("error", () => {});
  return child;
}

const run = $({
  quote: quoteWord,
  spawn: spawnWords as unknown as typeof nodeSpawn,
  prefix: "",
  postfix: "",
  quiet: true,
  verbose: false,
  nothrow: true,
  detached: true,
});

/** Starts `argv` (resolved through PATH) in its own process group. */
export function spawnCommand(
  argv: readonly string[],
  options: { input?: string } = {},
): SpawnedProcess {
  const [command] = argv;
  const stdin = options.input === undefined ? "ignore" : "pipe";
  const child = run({ input: options.input, stdio: [stdin, "pipe", "pipe"] })`${[...argv]}`;
  // A plain promise: zx's own `then` would return another ProcessPromise.
  const finished = new Promise<Awaited<typeof child>>((resolve, reject) => {
    child.then(resolve, reject);
  });
  const done = finished.then((out): SpawnOutput => {
    const error = out.cause as NodeJS.ErrnoException | null | undefined;
    if (error && out.exitCode === null && !out.signal) return notStarted(command, error);
    return { exitCode: out.exitCode, stdout: out.stdout, stderr: out.stderr };
  });
  return Object.assign(done, {
    get pid() {
      return child.pid;
    },
  });
}

/** bash's status for a program it cannot start, and why. */
function notStarted(command: string, error: NodeJS.ErrnoException): SpawnOutput {
  if (error.code === "ENOENT") {
    return { exitCode: 127, stdout: "", stderr: `${command}: command not found\n` };
  }
  const reason = error.code === "EACCES" ? "Permission denied" : error.message;
  return { exitCode: 126, stdout: "", stderr: `${command}: ${reason}\n` };
}
