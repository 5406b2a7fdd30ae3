/**
 * The one place that touches the machine, as small capabilities. Each keeps its queries (which
 * only read) apart from its changes:
 *
 *   files      FileQueries     readText kind mode          FileChanges   writeText copyFile mkdirp
 *                                                                         remove rmdir chmod chown
 *   commands   CommandQueries  query (read-only programs)  CommandChanges run
 *                              which
 *   mounts     MountQueries    filesystemName (statfs)     MountChanges  mount
 *   names      Lookups         hostname lookup
 *   process    Environment     env
 *   log        Log             log                         Announcements announce (change next)
 *                                                              echo (a program's line)
 *   trials                                                 Trials        trial (change to find out)
 *
 * `Queries` is every query capability and `Changes` every change capability; a `Host` is both.
 * A step asks only for the capabilities it uses (`host: FileQueries & FileChanges & Log`), so
 * unit tests pass a fake that records every command and write. A dry run (lib/host/dry_run.ts) is
 * built from `Queries` alone: it never holds a real change, so it cannot make one.
 *
 * This module is types and pure helpers only; the real host of this process is lib/host/real.ts,
 * the in-memory one for tests lib/host/fake.ts.
 */
import { CommandError } from "../errors.ts";
import { EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND, EXIT_TIMED_OUT } from "../exit_status.ts";
import type { LogLevel } from "../log.ts";
import { mountArgv, type MountOp } from "./mount_op.ts";

export { mountArgv, type MountOp };

/** How a command's output stream is handled. */
export type StreamMode = "capture" | "forward" | "ignore";

/** Options of `CommandQueries.query`. */
export interface QueryOptions {
  /** Return a failed result instead of throwing: only where kind's bash tolerated failure. */
  nothrow?: boolean;
  /**
   * Stop the command after this many milliseconds (default `DEFAULT_COMMAND_TIMEOUT_MS`): SIGTERM
   * to its process group, SIGKILL after a grace period. `KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS`
   * replaces every bound.
   */
  timeoutMs?: number;
  /** stdout: captured into the result (default), forwarded to our stdout, or dropped. */
  stdout?: StreamMode;
  /** stderr: forwarded to our stderr and kept in the result (default), kept only, or dropped. */
  stderr?: StreamMode;
  /**
   * The program starts no program of its own (as the iptables dumps): it then gets no session,
   * which lets the runtime start it without copying this process (vfork), and its bound signals
   * its PID alone.
   */
  startsNoPrograms?: boolean;
}

/** Options of `CommandChanges.run`. */
export interface RunOptions extends QueryOptions {
  /** Text written to the command's stdin (stdin is closed otherwise). */
  input?: string;
  /** For the dry-run plan: the text that `input` replaces (shown as a diff, e.g. rules). */
  diffAgainst?: string;
}

/** What a finished command left behind. */
export interface RunResult {
  argv: readonly string[];
  /** Exit status; null when killed by a signal. */
  status: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** What a path is, following symlinks (like `test -f` / `test -d`). */
export type PathKind = "file" | "directory" | "other";

/** Options of `FileChanges.writeText`. */
export interface WriteOptions {
  /** Permission bits for a newly created file (default 0o644). */
  mode?: number;
  /**
   * Write a temporary file, fsync it and rename it over the target (then fsync the directory),
   * keeping the target's mode, like `sed -i`. A process killed before the rename leaves the
   * target as it was and the temporary `.NAME.kind-entrypoint.tmp` beside it, which the next
   * atomic write of the same file replaces (a killed boot never counts as done, so the next one
   * writes the same files again). Without it the file is rewritten in place, which is
   * what a bind mounted file such as Docker's /etc/resolv.conf needs (rename over a mount point
   * fails): the new text, padded with newlines to the old length, is written from offset 0 and
   * only then cut to the new length, so that a process killed after the write leaves a file
   * that reads as the new text (blank lines at its end), never empty and never mixed with the
   * old text's tail (lib/host/real.ts, `writeInPlace`, states the whole contract).
   */
  atomic?: boolean;
  /**
   * After an in-place write, fsync the file and then its directory, as systemd's programs do for
   * the files they create (a new name survives a power loss only once its directory is synced).
   * An atomic write is durable already.
   */
  durable?: boolean;
}

/** Address family for `Lookups.lookup`. */
export type Family = 4 | 6;

/** An iptables dump program: `iptables-save`, `ip6tables-legacy-save`, ... */
export type IptablesSave = `ip${"" | "6"}tables${"" | "-nft" | "-legacy"}-save`;

/**
 * The programs `CommandQueries.query` may run: each only reads machine state. A program that
 * changes something (mktemp, mkdir, a restore) does not fit this type and must go through
 * `CommandChanges.run`, which a dry run turns into a plan entry.
 */
export type QueryArgv =
  | readonly [IptablesSave]
  | readonly ["stat", "-f", "-c", "%T", string]
  | readonly ["ip", "-4", "route", "show", "default"]
  | readonly ["ip", "-4", "-o", "addr", "show"]
  | readonly ["findmnt", string]
  | readonly ["nft", "list", "table", string, string];

/** Reading files and directories. */
export interface FileQueries {
  /** Reads a whole text file; throws an `EntrypointError` naming the path. */
  readText(file: string): string;
  /** What `file` is, or undefined when it does not exist. */
  kind(file: string): PathKind | undefined;
  /** Mode bits (including setuid/setgid) of a path, following symlinks; undefined if absent. */
  mode(file: string): number | undefined;
}

/** Changing files and directories; each throws an `EntrypointError` naming the path. */
export interface FileChanges {
  /** Writes a whole text file (see `WriteOptions`). */
  writeText(file: string, data: string, options?: WriteOptions): void;
  /** Copies a file's bytes (like `cp`, which keeps an existing target's inode and mode). */
  copyFile(from: string, to: string): void;
  /** `mkdir -p`. */
  mkdirp(dir: string): void;
  /** `rm -f`. */
  remove(file: string): void;
  /** `rmdir`. */
  rmdir(dir: string): void;
  /** `chmod`. */
  chmod(file: string, mode: number): void;
  /** `chown`. */
  chown(file: string, uid: number, gid: number): void;
}

/** Asking programs that only read, and finding programs. */
export interface CommandQueries {
  /** Runs a read-only program (see `QueryArgv`); throws `CommandError` unless `nothrow`. */
  query(argv: QueryArgv, options?: QueryOptions): Promise<RunResult>;
  /** Resolves a command through PATH like `which`; undefined when not found. */
  which(command: string): string | undefined;
}

/** Running programs that change the node. */
export interface CommandChanges {
  /** Runs a program found through PATH; throws `CommandError` on failure unless `nothrow`. */
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
}

/** Facts about mounted filesystems. */
export interface MountQueries {
  /**
   * What `stat -f -c %T PATH` would print, when known without running it (statfs(2)); undefined
   * means "ask stat".
   */
  filesystemName(path: string): string | undefined;
}

/** Mounting and unmounting. */
export interface MountChanges {
  /** Performs a mount operation; throws a `CommandError` on failure unless `nothrow`. */
  mount(op: MountOp, options?: { nothrow?: boolean }): Promise<RunResult>;
}

/** Names: this node's and others'. */
export interface Lookups {
  /** The kernel hostname, like `hostname`. */
  hostname(): string;
  /**
   * First address of `getent ahostsv4|ahostsv6 NAME` (getaddrinfo with getent's flags), or
   * undefined when the name does not resolve within `timeoutMs`.
   */
  lookup(name: string, family: Family, timeoutMs: number): Promise<string | undefined>;
}

/** The process environment. */
export interface Environment {
  /** An environment variable; undefined when unset (empty string when set to empty). */
  env(name: string): string | undefined;
}

/** The node's log: lines on stderr. */
export interface Log {
  /** Writes one `LEVEL: message` line to stderr. */
  log(level: LogLevel, message: string): void;
}

/** Saying what is about to change (kind's `INFO:` lines such as `remounting /sys read-only`). */
export interface Announcements {
  /**
   * Logs `INFO: message` in a real run; a dry run words it as a plan (`would remount ...`).
   * `message` starts with (or holds) the verb in its -ing form, as kind's lines do.
   */
  announce(message: string): void;
  /**
   * Prints `line` verbatim on stderr, as the program kind's bash runs at this point prints it
   * (the entrypoint does that program's work itself); a dry run prints nothing.
   */
  echo(line: string): void;
}

/** A question only a change can answer: the change is made, looked at, and undone. */
export interface Trial<T> {
  /** What it finds out, for the dry-run plan: "whether ...". */
  question: string;
  /** Makes the change, looks, undoes it; through the same host, so a dry run never gets here. */
  perform(): Promise<T>;
  /** The answer a dry run goes on with. */
  assumed: T;
  /** That answer and what follows from it, for the plan. */
  assumption: string;
}

/** Finding out by trying. */
export interface Trials {
  /** A real run performs the trial; a dry run records it as undecided and takes the assumption. */
  trial<T>(trial: Trial<T>): Promise<T>;
}

/** Reading and changing files. */
export type Files = FileQueries & FileChanges;

/** Asking and running programs. */
export type Commands = CommandQueries & CommandChanges;

/** Facts about mounts, and mounting. */
export type Mounts = MountQueries & MountChanges;

/** Everything a dry run may use for real: nothing here changes the node. */
export type Queries = FileQueries & CommandQueries & MountQueries & Lookups & Environment & Log;

/** Everything that changes the node; a dry run replaces all of it with plan entries. */
export type Changes = FileChanges & CommandChanges & MountChanges & Announcements & Trials;

/** The whole machine: its queries and its changes. */
export type Host = Queries & Changes;

/** `host.readText(file)`, or undefined when the file cannot be read. */
export function readOptional(host: FileQueries, file: string): string | undefined {
  try {
    return host.readText(file);
  } catch {
    return undefined;
  }
}

/** How long a command may run unless its call sets `timeoutMs`: no step needs seconds. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

/** The error for a failed `RunResult`, with the reason a person needs. */
export function commandFailure(result: RunResult, timeoutMs?: number): CommandError {
  let reason: string | undefined;
  let stderr = result.stderr;
  // lib/host/command.ts answers for a program that could not be started, with bash's words; a program
  // that ran and exited 127 or 126 itself keeps its own stderr.
  const own = stderr.trim();
  if (result.timedOut) {
    reason = timeoutMs === undefined ? "timed out" : `timed out after ${timeoutMs} ms`;
  } else if (result.status === EXIT_NOT_FOUND && own === `${result.argv[0]}: command not found`) {
    reason = "could not be run: command not found in PATH";
    stderr = "";
  } else if (result.status === EXIT_CANNOT_EXECUTE && own.startsWith(`${result.argv[0]}: `)) {
    reason = `could not be run: ${own.slice(result.argv[0].length + 2)}`;
    stderr = "";
  }
  return new CommandError(result.argv, {
    status: result.timedOut ? EXIT_TIMED_OUT : result.status,
    stderr,
    reason,
  });
}
