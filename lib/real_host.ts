/**
 * The real host of this process: files, programs, mounts, names and the log of the machine the
 * entrypoint runs on, behind the capabilities of lib/host.ts.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { CommandError, describeErrno, EntrypointError } from "./errors.ts";
import {
  type Changes,
  commandFailure,
  DEFAULT_COMMAND_TIMEOUT_MS,
  type Host,
  type Queries,
  type QueryOptions,
  type RunOptions,
  type RunResult,
} from "./host.ts";
import { formatLogLine } from "./log.ts";
import { mountArgv, type MountOp } from "./mount_op.ts";
import { lookupAddress } from "./resolve.ts";
import { spawnCommand } from "./spawn.ts";
import { describeFailure, filesystemName, loadSyscalls, type Syscalls } from "./syscalls.ts";

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
