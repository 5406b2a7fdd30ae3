/**
 * The one place that touches the machine. Steps receive a `Host` (or a `Pick` of it), so unit
 * tests pass a fake that records every command and write, and a dry run passes a host that
 * records mutations instead of performing them.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { CommandError, EntrypointError } from "./errors.ts";
import { formatLogLine, type LogLevel } from "./log.ts";
import { lookupAddress } from "./resolve.ts";
import { spawnCommand } from "./spawn.ts";
import { filesystemName, mountWithSyscalls } from "./syscalls.ts";

/** How a command's output stream is handled. */
export type StreamMode = "capture" | "forward" | "ignore";

/** Options of `Host.run`. */
export interface RunOptions {
  /** Text written to the command's stdin (stdin is closed otherwise). */
  input?: string;
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
  /** The command only reads machine state, so a dry run may execute it. */
  readOnly?: boolean;
  /** For the dry-run plan: the text that `input` replaces (shown as a diff, e.g. rules). */
  diffAgainst?: string;
}

/** Options of `Host.mount`. */
export interface MountOptions {
  /** Return a failed result instead of throwing. */
  nothrow?: boolean;
  /**
   * A probe that leaves nothing behind (a trial mount that is unmounted again), so a dry run
   * performs it to make the same decision a real run would.
   */
  probe?: boolean;
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

/** Options of `Host.writeText`. */
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

/**
 * A mount(2) operation, in the terms kind's bash uses with mount(8). Keeping it typed lets the
 * real host choose how to perform it (the `mount` program or the syscall) and lets tests and the
 * dry run show exactly what would be mounted.
 */
export type MountOp =
  /** `mount --bind SOURCE TARGET`, or `mount -o ro,bind` when readOnly. */
  | { op: "bind"; source: string; target: string; readOnly?: boolean }
  /** `mount -o remount,ro TARGET`. */
  | { op: "remount-ro"; target: string }
  /** `mount --make-rshared TARGET` / `mount --make-rprivate TARGET`. */
  | { op: "propagation"; target: string; propagation: "rshared" | "rprivate" }
  /** `mount -t overlay -o lowerdir=L,upperdir=U,workdir=W overlay TARGET`. */
  | { op: "overlay"; lower: string; upper: string; work: string; target: string }
  /** `umount TARGET`. */
  | { op: "umount"; target: string };

/** The mount(8)/umount(8) command line kind's bash runs for `op`. */
export function mountArgv(op: MountOp): string[] {
  switch (op.op) {
    case "bind":
      return op.readOnly
        ? ["mount", "-o", "ro,bind", op.source, op.target]
        : ["mount", "--bind", op.source, op.target];
    case "remount-ro":
      return ["mount", "-o", "remount,ro", op.target];
    case "propagation":
      return ["mount", `--make-${op.propagation}`, op.target];
    case "overlay":
      return [
        "mount",
        "-t",
        "overlay",
        "-o",
        `lowerdir=${op.lower},upperdir=${op.upper},workdir=${op.work}`,
        "overlay",
        op.target,
      ];
    case "umount":
      return ["umount", op.target];
  }
}

/** Address family for `Host.lookup`. */
export type Family = 4 | 6;

/** Everything the entrypoint does to the machine goes through this interface. */
export interface Host {
  /** Runs a program found through PATH; throws `CommandError` on failure unless `nothrow`. */
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Reads a whole text file; throws an `EntrypointError` naming the path. */
  readText(file: string): string;
  /** Writes a whole text file (see `WriteOptions`); throws an `EntrypointError` naming the path. */
  writeText(file: string, data: string, options?: WriteOptions): void;
  /** Copies a file's bytes (like `cp`, which keeps an existing target's inode and mode). */
  copyFile(from: string, to: string): void;
  /** What `file` is, or undefined when it does not exist. */
  kind(file: string): PathKind | undefined;
  /** `mkdir -p`. */
  mkdirp(dir: string): void;
  /** `rm -f`. */
  remove(file: string): void;
  /** An environment variable; undefined when unset (empty string when set to empty). */
  env(name: string): string | undefined;
  /** The kernel hostname, like `hostname`. */
  hostname(): string;
  /**
   * First address of `getent ahostsv4|ahostsv6 NAME` (getaddrinfo with getent's flags), or
   * undefined when the name does not resolve within `timeoutMs`.
   */
  lookup(name: string, family: Family, timeoutMs: number): Promise<string | undefined>;
  /** Writes one `LEVEL: message` line to stderr. */
  log(level: LogLevel, message: string): void;
  /** Performs a mount operation; throws a `CommandError`-like error on failure unless nothrow. */
  mount(op: MountOp, options?: MountOptions): Promise<RunResult>;
  /** `rmdir`; throws an `EntrypointError` naming the path. */
  rmdir(dir: string): void;
  /** Mode bits (including setuid/setgid) of a path, following symlinks; undefined if absent. */
  mode(file: string): number | undefined;
  /** `chmod`. */
  chmod(file: string, mode: number): void;
  /** `chown`. */
  chown(file: string, uid: number, gid: number): void;
  /** Resolves a command through PATH like `which`; undefined when not found. */
  which(command: string): string | undefined;
  /**
   * What `stat -f -c %T PATH` would print, when known without running it (statfs(2)); undefined
   * means "run stat". Optional: a host without it always runs stat.
   */
  filesystemName?(path: string): string | undefined;
}

/** How long a command may run unless its call sets `timeoutMs`: no step needs seconds. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

/** Names the variable that replaces every command's bound (tests, very slow machines). */
export const COMMAND_TIMEOUT_ENV = "KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS";

/**
 * The bound `KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS` sets: undefined when unset; an error text when
 * it is not a positive whole number of milliseconds.
 */
export function parseCommandTimeout(
  value: string | undefined,
): number | undefined | { invalid: string } {
  if (value === undefined || value === "") return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(value)) {
    return {
      invalid: `ignoring ${COMMAND_TIMEOUT_ENV}=${
        JSON.stringify(value)
      }: not a whole number of milliseconds between 1 and 999999999`,
    };
  }
  return Number(value);
}

/** Builds the real host for this process. */
export function createHost(): Host {
  const override = parseCommandTimeout(process.env[COMMAND_TIMEOUT_ENV]);
  if (typeof override === "object") fs.writeSync(2, formatLogLine("WARN", override.invalid));
  const run = (argv: readonly string[], options: RunOptions = {}) =>
    runCommand(argv, {
      ...options,
      timeoutMs: typeof override === "number"
        ? override
        : options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    });
  return {
    run,
    readText(file) {
      try {
        return fs.readFileSync(file, "utf8");
      } catch (error) {
        throw fileError("read", file, error);
      }
    },
    writeText(file, data, options = {}) {
      try {
        const bytes = new TextEncoder().encode(data);
        if (options.atomic) writeAtomically(file, bytes, options.mode);
        else writeInPlace(file, bytes, options.mode ?? 0o644);
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
    kind(file) {
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch {
        return undefined;
      }
      return st.isFile() ? "file" : st.isDirectory() ? "directory" : "other";
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
    env: (name) => process.env[name],
    hostname: () => os.hostname(),
    lookup: lookupAddress,
    log(level, message) {
      // Synchronous, so our lines and the children's stderr keep their order.
      fs.writeSync(2, formatLogLine(level, message));
    },
    // mount(2) through FFI, the same calls mount(8) makes (lib/syscalls.ts); the program without FFI.
    mount: (op, options = {}) =>
      mountWithSyscalls(op, options) ?? run(mountArgv(op), { nothrow: options.nothrow }),
    rmdir(dir) {
      try {
        fs.rmdirSync(dir);
      } catch (error) {
        throw fileError("remove directory", dir, error);
      }
    },
    mode(file) {
      try {
        return fs.statSync(file).mode & 0o7777;
      } catch {
        return undefined;
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
    which: (command) => whichSync(command, process.env.PATH ?? ""),
    filesystemName,
  };
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

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such file or directory",
  EISDIR: "it is a directory",
  ENOTDIR: "a parent is not a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  EBUSY: "device or resource busy",
};

/** A short English reason for an errno code, like strerror. */
export function describeErrno(code: string | undefined): string | undefined {
  return code ? ERRNO_TEXT[code] ?? code : undefined;
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

async function runCommand(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
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
