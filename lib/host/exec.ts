/**
 * Replacing this process with the init command, so that init keeps our PID (1 in a container)
 * and receives the signals meant for the node. Neither Deno nor Node can do that from JavaScript;
 * Deno's FFI can call libc's execve(2) directly.
 */
import { runningAbi } from "./abi.ts";
import { EntrypointError } from "../errors.ts";
import { EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND } from "../exit_status.ts";
import { cString, denoWithFfi, lastError, type Libc, loadLibc } from "./ffi.ts";

/** glibc's PATH when PATH is unset (confstr(_CS_PATH)). */
export const DEFAULT_PATH = "/bin:/usr/bin";

/**
 * The paths to try for `command`, in order, like execvp(3): as given when it contains a `/`,
 * otherwise each PATH entry (an empty entry is the current directory).
 */
export function candidatePaths(command: string, searchPath: string | undefined): string[] {
  if (command.includes("/")) return [command];
  return (searchPath ?? DEFAULT_PATH).split(":").map((dir) => joinPath(dir, command));
}

/** `dir/name` as path.join gives it for a PATH entry: the name alone for an empty entry. */
function joinPath(dir: string, name: string): string {
  if (dir === "" || dir === ".") return name;
  return dir.endsWith("/") ? `${dir}${name}` : `${dir}/${name}`;
}

/** Errnos after which execvp(3) goes on with the next PATH entry. */
const TRY_NEXT = new Set(["ENOENT", "ENOTDIR", "ESTALE", "ENODEV", "ETIMEDOUT", "EACCES"]);

/** The outcome of trying `candidatePaths` in order, each failing with the given errno name. */
export function searchOutcome(
  failures: readonly string[],
): { errno: string; exitCode: number } {
  // execvp reports EACCES when some entry existed but could not be run, else the last errno.
  const errno = failures.includes("EACCES") ? "EACCES" : failures.at(-1) ?? "ENOENT";
  return { errno, exitCode: errno === "ENOENT" ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE };
}

/** True when execvp would try the next PATH entry after `errno`. */
export function triesNextAfter(errno: string): boolean {
  return TRY_NEXT.has(errno);
}

/**
 * The variable in which the image's launcher lists the variables it set for Deno itself
 * (DENO_DIR and friends); they are left out of init's environment, and so is this one.
 */
export const LAUNCHER_ENV = "KIND_ENTRYPOINT_LAUNCHER_ENV";

/**
 * `NAME=value` strings of an environment, skipping unset values and the launcher's own
 * variables, so init gets the environment kind's bash would have handed it.
 */
export function environmentStrings(env: Record<string, string | undefined>): string[] {
  const launcher = launcherVariables(env[LAUNCHER_ENV]);
  return Object.entries(env).flatMap(([name, value]) =>
    value === undefined || launcher.has(name) ? [] : [`${name}=${value}`]
  );
}

function launcherVariables(list: string | undefined): Set<string> {
  const names = new Set((list ?? "").split(/\s+/).filter(Boolean));
  names.add(LAUNCHER_ENV);
  return names;
}

/** Where the kernel keeps the environment this process was started with. */
export const INITIAL_ENVIRON = "/proc/self/environ";

/**
 * The entries of an environment block as the kernel keeps it (`NAME=value`, NUL-separated
 * bytes, passed on byte for byte), without the launcher's variables. Init gets the environment
 * this process was started with, not the one the runtime made of it: Deno started without the
 * image's launcher adds DENO_NODE_SHIM_ACTIVE and its node_compat_bin directory to PATH.
 */
export function initialEnvironment(block: Uint8Array): Uint8Array[] {
  const entries: Uint8Array[] = [];
  for (let start = 0; start < block.length;) {
    let end = block.indexOf(0, start);
    if (end < 0) end = block.length;
    if (end > start) entries.push(block.subarray(start, end));
    start = end + 1;
  }
  const nameOf = (entry: Uint8Array) => {
    const equals = entry.indexOf(0x3d);
    return String.fromCharCode(...entry.subarray(0, equals < 0 ? entry.length : equals));
  };
  const listed = entries.find((entry) => nameOf(entry) === LAUNCHER_ENV);
  const launcher = launcherVariables(
    listed && String.fromCharCode(...listed.subarray(LAUNCHER_ENV.length + 1)),
  );
  return entries.filter((entry) => !launcher.has(nameOf(entry)));
}

/** The value of `name` in environment entries (the first, as getenv reads), or undefined. */
export function variable(entries: readonly Uint8Array[], name: string): string | undefined {
  const prefix = new TextEncoder().encode(`${name}=`);
  const entry = entries.find((e) => prefix.every((byte, i) => e[i] === byte));
  return entry && new TextDecoder().decode(entry.subarray(prefix.length));
}

/** init's environment: the one we were started with, or ours where /proc cannot tell it. */
function environmentForInit(): Uint8Array[] {
  try {
    return initialEnvironment(Deno.readFileSync(INITIAL_ENVIRON));
  } catch {
    const encoder = new TextEncoder();
    return environmentStrings(Deno.env.toObject()).map((entry) => encoder.encode(entry));
  }
}

/** Why this runtime cannot exec, or undefined when it can. */
export function execUnsupportedReason(): string | undefined {
  if (typeof (globalThis as { Deno?: typeof Deno }).Deno?.dlopen !== "function") {
    return `Cannot exec: this runtime (${runtimeName()}) cannot replace its process; ` +
      "run the entrypoint with deno run -A";
  }
  if (denoWithFfi() === undefined) {
    return "Cannot exec: Deno needs the FFI permission to replace its process; " +
      "run the entrypoint with deno run -A";
  }
  return undefined;
}

/** Names a runtime that is not Deno: Node.js with its version when it is Node. */
export function runtimeName(): string {
  const version = (globalThis as { process?: { version?: string } }).process?.version;
  return version === undefined ? "not Deno" : `Node.js ${version}`;
}

const SIG_SETMASK = 2;
/** glibc's sigset_t is 1024 bits. */
const SIGSET_BYTES = 128;
const SIGKILL = 9;
const SIGSTOP = 19;
const SIGNAL_MAX = 64;
/** Signals 32 and 33 belong to glibc's threads; its signal() refuses them. */
const GLIBC_INTERNAL_SIGNALS = new Set([32, 33]);
/** The kernel's sigset size for rt_sigaction. */
const KERNEL_SIGSET_BYTES = 8n;

/** The signals whose disposition is reset before exec: all but SIGKILL and SIGSTOP. */
export function signalsToReset(): number[] {
  const signals: number[] = [];
  for (let n = 1; n <= SIGNAL_MAX; n++) if (n !== SIGKILL && n !== SIGSTOP) signals.push(n);
  return signals;
}

/**
 * execve(2) of `argv` resolved through PATH, with the environment this process was started with
 * (`initialEnvironment`), after giving every signal its default disposition and unblocking all
 * of them: Deno ignores SIGPIPE, and init would inherit that. Never resolves; rejects with an `EntrypointError` whose exit status is
 * bash's (127 not found, 126 cannot execute).
 */
export function execCommand(argv: readonly string[]): Promise<never> {
  try {
    execOrThrow(argv);
  } catch (error) {
    return Promise.reject(error);
  }
}

function execOrThrow(argv: readonly string[]): never {
  const unsupported = execUnsupportedReason();
  if (unsupported) throw new EntrypointError(unsupported, { exitCode: EXIT_CANNOT_EXECUTE });
  if (argv.length === 0) throw new EntrypointError("Cannot exec: no command given");
  const libc = loadLibc();
  if (libc === undefined) {
    throw new EntrypointError("Cannot exec: cannot load glibc (libc.so.6)", {
      exitCode: EXIT_CANNOT_EXECUTE,
    });
  }
  const keep: Uint8Array[] = [];
  const environment = environmentForInit();
  const envp = pointerArray(environment, keep);
  resetSignals(libc);

  const [command, ...args] = argv;
  const failures: string[] = [];
  const failureText: string[] = [];
  // Searched in init's PATH, as bash would: not in the one the runtime changed.
  for (const candidate of candidatePaths(command, variable(environment, "PATH"))) {
    let errno = tryExecve(libc, candidate, [command, ...args], envp, keep);
    if (errno.name === "ENOEXEC") {
      // Like execvp (and bash), a file without a #! line is a shell script.
      errno = tryExecve(libc, "/bin/sh", ["/bin/sh", candidate, ...args], envp, keep);
    }
    failures.push(errno.name);
    failureText.push(errno.text);
    if (!triesNextAfter(errno.name)) break;
  }
  const outcome = searchOutcome(failures);
  const text = failureText[failures.lastIndexOf(outcome.errno)];
  const where = command.includes("/") ? "" : " (searched PATH)";
  throw new EntrypointError(`Cannot exec ${command}: ${text}${where}`, {
    exitCode: outcome.exitCode,
  });
}

function tryExecve(
  libc: Libc,
  file: string,
  argv: readonly string[],
  envp: BigUint64Array,
  keep: Uint8Array[],
): { name: string; text: string } {
  libc.execve(kept(file, keep), pointerArray(argv, keep), envp);
  // Only reached on failure.
  return lastError(libc);
}

/**
 * Gives every signal its default disposition and unblocks all. The kernel's rt_sigaction is
 * called directly because glibc refuses signals 32 and 33, and a process started by Deno
 * inherits those two ignored; exec keeps ignored signals ignored.
 */
function resetSignals(libc: Libc): void {
  // The kernel's struct sigaction, all zero: SIG_DFL, no flags, empty mask.
  const rtSigaction = runningAbi()?.rtSigaction;
  const defaultAction = new Uint8Array(rtSigaction?.actionBytes ?? 0);
  for (const signal of signalsToReset()) {
    if (rtSigaction !== undefined) {
      libc.syscall(rtSigaction.number, BigInt(signal), defaultAction, null, KERNEL_SIGSET_BYTES);
    } else if (!GLIBC_INTERNAL_SIGNALS.has(signal)) {
      libc.signal(signal, null);
    }
  }
  // An alarm survives execve: one armed by a late SIGRTMIN+3 (lib/boot/signals.ts) must not reach init.
  libc.alarm?.(0);
  const empty = new Uint8Array(SIGSET_BYTES);
  if (libc.sigprocmask(SIG_SETMASK, empty, null) !== 0) {
    throw new EntrypointError("Cannot exec: sigprocmask failed to unblock signals");
  }
}

/** A C string of `text` (UTF-8, or the bytes as given), kept alive in `keep` until exec. */
function kept(text: string | Uint8Array, keep: Uint8Array[]): Uint8Array {
  let encoded: Uint8Array;
  if (typeof text === "string") {
    encoded = cString(text);
  } else {
    encoded = new Uint8Array(text.length + 1);
    encoded.set(text);
  }
  keep.push(encoded);
  return encoded;
}

/** A NULL-terminated array of pointers to C strings (argv/envp layout). */
function pointerArray(
  strings: readonly (string | Uint8Array)[],
  keep: Uint8Array[],
): BigUint64Array {
  const pointers = new BigUint64Array(strings.length + 1);
  strings.forEach((text, i) => {
    pointers[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(kept(text, keep))));
  });
  return pointers;
}

/** Lets the entrypoint refuse a runtime without exec before any step has changed anything. */
execCommand.unsupported = execUnsupportedReason;
