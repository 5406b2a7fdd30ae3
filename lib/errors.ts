/** The one error type the entrypoint reports: a sentence, the step it came from, an exit status. */

/** A failure that stops the boot; `exitCode` is what the process exits with. */
export class EntrypointError extends Error {
  readonly exitCode: number;
  readonly step?: string;
  /** The message is one of kind's own `ERROR:` lines and is printed exactly, never prefixed. */
  readonly verbatim: boolean;

  constructor(
    message: string,
    options: { exitCode?: number; step?: string; verbatim?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "EntrypointError";
    this.exitCode = options.exitCode ?? 1;
    this.step = options.step;
    this.verbatim = options.verbatim ?? false;
  }
}

/** A command that exited non-zero, could not start, or timed out. */
export class CommandError extends EntrypointError {
  readonly argv: readonly string[];
  readonly status: number | null;
  readonly stderr: string;

  constructor(
    argv: readonly string[],
    detail: { status: number | null; stderr: string; reason?: string },
  ) {
    const why = detail.reason ??
      (detail.status === null ? "was killed" : `exited with status ${detail.status}`);
    const err = detail.stderr.trim();
    super(`Command \`${argv.join(" ")}\` ${why}${err ? `: ${lastLines(err, 5)}` : ""}`, {
      // Like bash's errexit, the entrypoint exits with the failing command's status.
      exitCode: detail.status && detail.status > 0 ? detail.status : 1,
    });
    this.name = "CommandError";
    this.argv = argv;
    this.status = detail.status;
    this.stderr = detail.stderr;
  }
}

/** Wraps `error` so that its message starts with the step that failed; keeps its exit status. */
export function inStep(step: string, error: unknown): EntrypointError {
  if (error instanceof EntrypointError && (error.step || error.verbatim)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const exitCode = error instanceof EntrypointError ? error.exitCode : 1;
  return new EntrypointError(`${step}: ${message}`, { exitCode, step, cause: error });
}

function lastLines(text: string, n: number): string {
  const lines = text.split("\n");
  return lines.slice(-n).join(" | ");
}

/**
 * The errno values the entrypoint names, one row each: number, name and a short English reason
 * (strerror's words, except where a file error reads better in a sentence).
 */
const ERRNO: readonly (readonly [number, string, string])[] = [
  [1, "EPERM", "operation not permitted"],
  [2, "ENOENT", "no such file or directory"],
  [5, "EIO", "input/output error"],
  [7, "E2BIG", "argument list too long"],
  [8, "ENOEXEC", "exec format error"],
  [12, "ENOMEM", "cannot allocate memory"],
  [13, "EACCES", "permission denied"],
  [14, "EFAULT", "bad address"],
  [15, "ENOTBLK", "block device required"],
  [16, "EBUSY", "device or resource busy"],
  [19, "ENODEV", "no such device"],
  [20, "ENOTDIR", "a parent is not a directory"],
  [21, "EISDIR", "it is a directory"],
  [22, "EINVAL", "invalid argument"],
  [24, "EMFILE", "too many open files"],
  [26, "ETXTBSY", "text file busy"],
  [28, "ENOSPC", "no space left on device"],
  [30, "EROFS", "read-only file system"],
  [36, "ENAMETOOLONG", "file name too long"],
  [40, "ELOOP", "too many levels of symbolic links"],
  [95, "EOPNOTSUPP", "operation not supported"],
  [99, "EADDRNOTAVAIL", "address not available"],
  [101, "ENETUNREACH", "network unreachable"],
  [104, "ECONNRESET", "connection reset"],
  [110, "ETIMEDOUT", "connection timed out"],
  [111, "ECONNREFUSED", "connection refused"],
  [113, "EHOSTUNREACH", "host unreachable"],
  [116, "ESTALE", "stale file handle"],
];

/** errno's name for a Linux errno number (`EBUSY`), or `errno N` for one not in the table. */
export function errnoName(errno: number): string {
  return ERRNO.find(([number]) => number === errno)?.[1] ?? `errno ${errno}`;
}

/** A short English reason for a Linux errno number, or its name for one without words. */
export function errnoWords(errno: number): string {
  return ERRNO.find(([number]) => number === errno)?.[2] ?? errnoName(errno);
}

/** A short English reason for an errno name such as Node's `error.code`, like strerror. */
export function describeErrno(code: string | undefined): string | undefined {
  if (!code) return undefined;
  return ERRNO.find(([, name]) => name === code)?.[2] ?? code;
}
