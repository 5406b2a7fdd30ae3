/**
 * The real host of this process: files, programs, mounts, names and the log of the machine the
 * entrypoint runs on, behind the capabilities of lib/host/host.ts.
 */
import { runSetAlternative } from "./alternatives.ts";
import { runCommand, STANDARD_STREAMS, writeAllSync } from "./command.ts";
import { CommandError, describeErrno, EntrypointError } from "../errors.ts";
import {
  type Changes,
  DEFAULT_COMMAND_TIMEOUT_MS,
  type Host,
  type Queries,
  type QueryOptions,
  type RunOptions,
  type RunResult,
} from "./host.ts";
import { cString, loadLibc } from "./ffi.ts";
import { EXIT_MOUNT_FAILURE } from "../exit_status.ts";
import { formatLogLine } from "../log.ts";
import { mountArgv, type MountOp } from "./mount_op.ts";
import { lookupAddress } from "./resolve.ts";
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
    which: (command) => whichSync(command, searchPath()),
    readText(file) {
      try {
        return Deno.readTextFileSync(file);
      } catch (error) {
        throw fileError("read", file, error);
      }
    },
    kind(file) {
      let st: Deno.FileInfo;
      try {
        st = Deno.statSync(file);
      } catch {
        return undefined;
      }
      return st.isFile ? "file" : st.isDirectory ? "directory" : "other";
    },
    mode(file) {
      try {
        return (Deno.statSync(file).mode ?? 0) & 0o7777;
      } catch {
        return undefined;
      }
    },
    filesystemName,
    env: (name) => Deno.env.get(name),
    hostname: () => Deno.hostname(),
    lookup: lookupAddress,
    log(level, message) {
      // Synchronous, so our lines and the children's stderr keep their order.
      writeStderr(formatLogLine(level, message));
    },
  };
}

/** The real changes of this process. */
export function createChanges(options: HostOptions = {}): Changes {
  // update-alternatives --set, the program's work done in-process where it can be.
  const run = (argv: readonly string[], runOptions: RunOptions = {}) =>
    runSetAlternative(argv, {
      ...runOptions,
      which: (command) => whichSync(command, searchPath()),
    }) ??
      runCommand(argv, bounded(runOptions, options));
  return {
    run,
    writeText(file, data, writeOptions = {}) {
      try {
        const bytes = new TextEncoder().encode(data);
        if (writeOptions.atomic) writeAtomically(file, bytes, writeOptions.mode);
        else {
          writeInPlace(file, bytes, writeOptions.mode ?? 0o644, { durable: writeOptions.durable });
        }
      } catch (error) {
        throw fileError("write", file, error);
      }
    },
    copyFile(from, to) {
      try {
        // Keep the target's inode (it may be a bind mount), like cp does.
        writeInPlace(to, Deno.readFileSync(from), 0o644);
      } catch (error) {
        throw fileError(`copy ${from} to`, to, error);
      }
    },
    mkdirp(dir) {
      try {
        Deno.mkdirSync(dir, { recursive: true });
      } catch (error) {
        throw fileError("create directory", dir, error);
      }
    },
    remove(file) {
      try {
        removeFile(file);
      } catch (error) {
        throw fileError("remove", file, error);
      }
    },
    rmdir(dir) {
      try {
        removeDirectory(dir);
      } catch (error) {
        throw fileError("remove directory", dir, error);
      }
    },
    chmod(file, mode) {
      try {
        Deno.chmodSync(file, mode);
      } catch (error) {
        throw fileError("change the mode of", file, error);
      }
    },
    chown(file, uid, gid) {
      try {
        Deno.chownSync(file, uid, gid);
      } catch (error) {
        throw fileError("change the owner of", file, error);
      }
    },
    // mount(2) through FFI, the calls mount(8) makes (lib/host/syscalls.ts); the program without FFI.
    mount: (op, mountOptions = {}) =>
      mountWithSyscalls(op, mountOptions) ?? run(mountArgv(op), { nothrow: mountOptions.nothrow }),
    announce(message) {
      writeStderr(formatLogLine("INFO", message));
    },
    echo(line) {
      writeStderr(`${line}\n`);
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

function searchPath(): string {
  return Deno.env.get("PATH") ?? "";
}

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
  if (stderr) writeStderr(stderr);
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
    const candidate = `${dir === "" ? "." : dir}/${command}`;
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** access(2)'s mode bit for "may execute". */
const X_OK = 1;

function isExecutableFile(file: string): boolean {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(file);
  } catch {
    return false;
  }
  if (!info.isFile) return false;
  const libc = loadLibc();
  // access(2) knows this process's groups and capabilities; without FFI, any execute bit.
  if (libc) return libc.access(cString(file), X_OK) === 0;
  return ((info.mode ?? 0) & 0o111) !== 0;
}

/** `rm -f FILE`: a missing file is fine, a directory is not removed. */
function removeFile(file: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return;
    throw error;
  }
  if (info.isDirectory) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
  Deno.removeSync(file);
}

/** `rmdir DIR`: only an empty directory is removed. */
function removeDirectory(dir: string): void {
  if (!Deno.lstatSync(dir).isDirectory) {
    throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
  }
  Deno.removeSync(dir);
}

function writeStderr(text: string): void {
  STANDARD_STREAMS.stderr(new TextEncoder().encode(text));
}

function fileError(verb: string, file: string, error: unknown): EntrypointError {
  const code = (error as { code?: string } | undefined)?.code;
  const reason = describeErrno(code) ?? (error instanceof Error ? error.message : String(error));
  return new EntrypointError(`Cannot ${verb} ${file}: ${reason}`, { cause: error });
}

/**
 * Rewrites `file` in place, keeping its inode (a bind mounted file such as Docker's resolv.conf
 * cannot be replaced by rename). Contract, for a process killed at any moment:
 * - before the one write(2): the old text, whole;
 * - during it: a prefix of the padded text followed by the rest of the old text (Linux copies a
 *   write page by page and stops between pages for a fatal signal, so a padded text within one
 *   page, as any real resolv.conf is, is written whole or not at all);
 * - after it: the padded text, that is the new text followed, when the old text was longer, by
 *   newlines up to the old length: blank lines, which resolv.conf, systemd's files and every
 *   reader of the entrypoint's own files ignore, so the file already reads as the new text;
 * - after the truncation: the new text exactly.
 * Never empty, never shorter than the new text, and never the new text followed by the old
 * text's tail (which a write of the bare new text and a kill before the truncation would leave).
 */
export function writeInPlace(
  file: string,
  bytes: Uint8Array,
  mode: number,
  options: { durable?: boolean } = {},
): void {
  {
    using handle = Deno.openSync(file, { write: true, create: true, mode });
    writeAllSync(handle, paddedText(bytes, handle.statSync().size));
    handle.truncateSync(bytes.length);
    if (options.durable) handle.syncSync();
  }
  if (options.durable) syncDirectory(directoryOf(file));
}

/** The directory holding `file` ("." for a bare name). */
function directoryOf(file: string): string {
  const slash = file.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : file.slice(0, slash);
}

/** `bytes` followed by newlines up to `length` (as it is when it is that long already). */
export function paddedText(bytes: Uint8Array, length: number): Uint8Array {
  if (bytes.length >= length) return bytes;
  const padded = new Uint8Array(length).fill(0x0a);
  padded.set(bytes);
  return padded;
}

function writeAtomically(file: string, bytes: Uint8Array, mode?: number): void {
  let keepMode = mode ?? 0o644;
  try {
    keepMode = (Deno.statSync(file).mode ?? keepMode) & 0o7777;
  } catch { /* new file */ }
  const slash = file.lastIndexOf("/");
  const dir = directoryOf(file);
  const tmp = `${slash < 0 ? "" : file.slice(0, slash + 1)}.${
    file.slice(slash + 1)
  }.kind-entrypoint.tmp`;
  try {
    using handle = Deno.openSync(tmp, {
      write: true,
      create: true,
      truncate: true,
      mode: keepMode,
    });
    writeAllSync(handle, bytes);
    Deno.chmodSync(tmp, keepMode);
    // On disk before the rename, or a crash could leave the new name on an empty file.
    handle.syncSync();
  } catch (error) {
    removeQuietly(tmp);
    throw error;
  }
  try {
    Deno.renameSync(tmp, file);
  } catch (error) {
    removeQuietly(tmp);
    throw error;
  }
  syncDirectory(dir);
}

function removeQuietly(file: string): void {
  try {
    Deno.removeSync(file);
  } catch { /* never created, or gone */ }
}

/** Makes a rename in `dir` durable; a directory that cannot be opened only loses durability. */
function syncDirectory(dir: string): void {
  let handle: Deno.FsFile;
  try {
    handle = Deno.openSync(dir, { read: true });
  } catch {
    return;
  }
  try {
    handle.syncSync();
  } catch {
    // Some filesystems cannot sync a directory (EINVAL); the rename itself is done.
  } finally {
    handle.close();
  }
}
