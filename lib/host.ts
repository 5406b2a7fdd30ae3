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
 *   trials                                                 Trials        trial (change to find out)
 *
 * `Queries` is every query capability and `Changes` every change capability; a `Host` is both.
 * A step asks only for the capabilities it uses (`host: FileQueries & FileChanges & Log`), so
 * unit tests pass a fake that records every command and write. A dry run (lib/dry_run.ts) is
 * built from `Queries` alone: it never holds a real change, so it cannot make one.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { CommandError, describeErrno, EntrypointError } from "./errors.ts";
import { formatLogLine, type LogLevel } from "./log.ts";
import { mountArgv, type MountOp } from "./mount_op.ts";
import { lookupAddress } from "./resolve.ts";
import { spawnCommand } from "./spawn.ts";
import { describeFailure, filesystemName, loadSyscalls, type Syscalls } from "./syscalls.ts";

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
   * keeping the target's mode, like `sed -i`. Without it the file is rewritten in place, which is
   * what a bind mounted file such as Docker's /etc/resolv.conf needs (rename over a mount point
   * fails): written from offset 0 and only then cut to the new length, so that a process killed
   * at any moment leaves the file no shorter than the old and new texts, never empty.
   */
  atomic?: boolean;
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

/** Options of the real host. */
export interface HostOptions {
  /** Replaces every command's bound (`KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS`). */
  commandTimeoutMs?: number;
}

/** The real queries of this process. */
export function createQueries(options: HostOptions = {}): Queries {
  return {
    query: (argv, queryOptions = {}) => runCommand(argv, bounded(queryOptions, options)),
    which: (command) => whichSync(command, process.env.PATH ?? ""),
    readText(file) {
      try {
        return fs.readFileSync(file, "utf8");
      } catch (error) {
        throw fileError("read", file, error);
      }
    },
    kind(file) {
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch {
        return undefined;
      }
      return st.isFile() ? "file" : st.isDirectory() ? "directory" : "other";
    },
    mode(file) {
      try {
        return fs.statSync(file).mode & 0o7777;
      } catch {
        return undefined;
      }
    },
    filesystemName,
    env: (name) => process.env[name],
    hostname: () => os.hostname(),
    lookup: lookupAddress,
    log(level, message) {
      // Synchronous, so our lines and the children's stderr keep their order.
      fs.writeSync(2, formatLogLine(level, message));
    },
  };
}

/** The real changes of this process. */
export function createChanges(options: HostOptions = {}): Changes {
  const run = (argv: readonly string[], runOptions: RunOptions = {}) =>
    runCommand(argv, bounded(runOptions, options));
  return {
    run,
    writeText(file, data, writeOptions = {}) {
      try {
        const bytes = new TextEncoder().encode(data);
        if (writeOptions.atomic) writeAtomically(file, bytes, writeOptions.mode);
        else writeInPlace(file, bytes, writeOptions.mode ?? 0o644);
      } catch (error) {
        throw fileError("write", file, error);
      }
    },
    copyFile(from, to) {
      try {
        // Keep the target's inode (it may be a bind mount), like cp does.
        writeInPlace(to, fs.readFileSync(from), 0o644);
      } catch (error) {
        throw fileError(`copy ${from} to`, to, error);
      }
    },
    mkdirp(dir) {
      try {
        fs.mkdirSync(dir, { recursive: true });
      } catch (error) {
        throw fileError("create directory", dir, error);
      }
    },
    remove(file) {
      try {
        fs.rmSync(file, { force: true });
      } catch (error) {
        throw fileError("remove", file, error);
      }
    },
    rmdir(dir) {
      try {
        fs.rmdirSync(dir);
      } catch (error) {
        throw fileError("remove directory", dir, error);
      }
    },
    chmod(file, mode) {
      try {
        fs.chmodSync(file, mode);
      } catch (error) {
        throw fileError("change the mode of", file, error);
      }
    },
    chown(file, uid, gid) {
      try {
        fs.chownSync(file, uid, gid);
      } catch (error) {
        throw fileError("change the owner of", file, error);
      }
    },
    // mount(2) through FFI, the calls mount(8) makes (lib/syscalls.ts); the program without FFI.
    mount: (op, mountOptions = {}) =>
      mountWithSyscalls(op, mountOptions) ?? run(mountArgv(op), { nothrow: mountOptions.nothrow }),
    announce(message) {
      fs.writeSync(2, formatLogLine("INFO", message));
    },
    trial: (trial) => trial.perform(),
  };
}

/** The real host of this process: its queries and its changes. */
export function createHost(options: HostOptions = {}): Host {
  return { ...createQueries(options), ...createChanges(options) };
}

function bounded<T extends QueryOptions>(callOptions: T, options: HostOptions): T {
  return {
    ...callOptions,
    timeoutMs: options.commandTimeoutMs ?? callOptions.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
  };
}

/** mount(8)'s and umount(8)'s exit status for a failed mount. */
export const EXIT_MOUNT_FAILURE = 32;

/**
 * Performs `op` with system calls and answers like `CommandChanges.run` on mount(8)'s command
 * line: a failure prints `mount: TARGET: <call> failed: <strerror> (<ERRNO>)` on stderr (where
 * mount(8) prints its own message) and, unless `nothrow`, throws the `CommandError` of status
 * 32, also when the operation is refused before any call. Undefined when there is no FFI (`syscalls`
 * undefined): the caller then runs the program.
 */
export function mountWithSyscalls(
  op: MountOp,
  options: { nothrow?: boolean } = {},
  syscalls: Syscalls | undefined = loadSyscalls(),
): Promise<RunResult> | undefined {
  if (!syscalls) return undefined;
  const argv = mountArgv(op);
  let reason: string | undefined;
  try {
    const failure = syscalls.mount(op);
    if (failure) reason = describeFailure(failure);
  } catch (error) {
    // Refused before any call (mountinfo unreadable, ...): still mount(8)'s failure, so that
    // `nothrow` holds for it as for a refusal by the kernel.
    reason = error instanceof Error ? error.message : String(error);
  }
  const stderr = reason === undefined ? "" : `${argv[0]}: ${op.target}: ${reason}\n`;
  if (stderr) fs.writeSync(2, stderr);
  const result: RunResult = {
    argv,
    status: reason === undefined ? 0 : EXIT_MOUNT_FAILURE,
    stdout: "",
    stderr,
    timedOut: false,
  };
  if (reason !== undefined && !options.nothrow) {
    return Promise.reject(new CommandError(argv, { status: result.status, stderr }));
  }
  return Promise.resolve(result);
}

/** The first executable regular file named `command` in `searchPath`, like `which`. */
export function whichSync(command: string, searchPath: string): string | undefined {
  if (command.includes("/")) return isExecutableFile(command) ? command : undefined;
  for (const dir of searchPath.split(":")) {
    const candidate = path.join(dir === "" ? "." : dir, command);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function fileError(verb: string, file: string, error: unknown): EntrypointError {
  const code = (error as NodeJS.ErrnoException)?.code;
  const reason = describeErrno(code) ?? (error instanceof Error ? error.message : String(error));
  return new EntrypointError(`Cannot ${verb} ${file}: ${reason}`, { cause: error });
}

/**
 * Overwrites `file` from offset 0 and then truncates it to the new length: unlike open(O_TRUNC)
 * and write, no moment leaves it empty or shorter than both texts (a SIGKILL between the two
 * used to leave an empty resolv.conf, saved as resolv.conf.original by the next boot).
 */
export function writeInPlace(file: string, bytes: Uint8Array, mode: number): void {
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT, mode);
  try {
    writeAll(fd, bytes);
    fs.ftruncateSync(fd, bytes.length);
  } finally {
    fs.closeSync(fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let offset = 0; offset < bytes.length;) {
    offset += fs.writeSync(fd, bytes, offset, bytes.length - offset, offset);
  }
}

function writeAtomically(file: string, bytes: Uint8Array, mode?: number): void {
  let keepMode = mode ?? 0o644;
  try {
    keepMode = fs.statSync(file).mode & 0o7777;
  } catch { /* new file */ }
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.kind-entrypoint.tmp`);
  try {
    const fd = fs.openSync(tmp, "w", keepMode);
    try {
      writeAll(fd, bytes);
      fs.fchmodSync(fd, keepMode);
      // On disk before the rename, or a crash could leave the new name on an empty file.
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  syncDirectory(dir);
}

/** Makes a rename in `dir` durable; a directory that cannot be opened only loses durability. */
function syncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, "r");
  } catch {
    return;
  }
  try {
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems cannot sync a directory (EINVAL); the rename itself is done.
  } finally {
    fs.closeSync(fd);
  }
}

/** After SIGTERM, how long a timed-out command has before its process group gets SIGKILL. */
const KILL_GRACE_MS = 1_000;
/** After SIGKILL, how long to wait for its output pipes to close before giving up on them. */
const ABANDON_AFTER_KILL_MS = 1_000;

async function runCommand(argv: readonly string[], options: RunOptions): Promise<RunResult> {
  const stdoutMode = options.stdout ?? "capture";
  const stderrMode = options.stderr ?? "forward";
  const bound = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  // Started directly in its own process group (lib/spawn.ts): no `bash -c` per command.
  const child = spawnCommand(argv, { input: options.input });
  // Bounded here: a command that ignores SIGTERM, or leaves a background process holding its
  // stdout, would otherwise never return.
  let timedOut = false;
  const timers: ReturnType<typeof setTimeout>[] = [];
  const abandoned = new Promise<undefined>((resolve) => {
    timers.push(setTimeout(() => {
      timedOut = true;
      signalGroup(child.pid, "SIGTERM");
      timers.push(setTimeout(() => {
        signalGroup(child.pid, "SIGKILL");
        timers.push(setTimeout(() => resolve(undefined), ABANDON_AFTER_KILL_MS));
      }, KILL_GRACE_MS));
    }, bound));
  });
  let out: Awaited<typeof child> | undefined;
  try {
    out = await Promise.race([child, abandoned]);
  } finally {
    for (const timer of timers) clearTimeout(timer);
  }
  const result: RunResult = {
    argv,
    status: timedOut ? null : out?.exitCode ?? null,
    stdout: stdoutMode === "capture" ? out?.stdout ?? "" : "",
    stderr: stderrMode === "ignore" ? "" : out?.stderr ?? "",
    timedOut,
  };
  if (stdoutMode === "forward" && out?.stdout) fs.writeSync(1, out.stdout);
  if (stderrMode === "forward" && out?.stderr) fs.writeSync(2, out.stderr);
  if (result.status !== 0 && !options.nothrow) throw commandFailure(result, bound);
  if (timedOut) {
    // Tolerated like any failure of this command, but a hang is worth a line in the log.
    fs.writeSync(2, formatLogLine("WARN", commandFailure(result, bound).message));
  }
  return result;
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch { /* already gone */ }
}

/** The error for a failed `RunResult`, with the reason a person needs. */
export function commandFailure(result: RunResult, timeoutMs?: number): CommandError {
  let reason: string | undefined;
  let stderr = result.stderr;
  // lib/spawn.ts answers for a program that could not be started, with bash's words; a program
  // that ran and exited 127 or 126 itself keeps its own stderr.
  const own = stderr.trim();
  if (result.timedOut) {
    reason = timeoutMs === undefined ? "timed out" : `timed out after ${timeoutMs} ms`;
  } else if (result.status === 127 && own === `${result.argv[0]}: command not found`) {
    reason = "could not be run: command not found in PATH";
    stderr = "";
  } else if (result.status === 126 && own.startsWith(`${result.argv[0]}: `)) {
    reason = `could not be run: ${own.slice(result.argv[0].length + 2)}`;
    stderr = "";
  }
  return new CommandError(result.argv, {
    status: result.timedOut ? 124 : result.status,
    stderr,
    reason,
  });
}
