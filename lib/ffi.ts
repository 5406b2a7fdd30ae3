/**
 * Calling glibc through Deno's FFI, shared by the mount syscalls (lib/syscalls.ts), the name
 * lookups (lib/resolve.ts) and the exec (lib/exec.ts).
 */

/** Deno's namespace when this runtime can call C (Deno with the FFI permission), else undefined. */
export function denoWithFfi(): typeof Deno | undefined {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (typeof deno?.dlopen !== "function") return undefined;
  if (deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
  return deno;
}

/** A NUL-terminated copy of `text`, for a `buffer` parameter. */
export function cString(text: string): Uint8Array {
  return new TextEncoder().encode(`${text}\0`);
}

/** The symbols `lastError` reads. */
export const ERRNO_SYMBOLS = {
  strerror: { parameters: ["i32"], result: "pointer" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** Linux errno numbers the entrypoint names; others are reported as `errno N`. */
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  7: "E2BIG",
  8: "ENOEXEC",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  15: "ENOTBLK",
  16: "EBUSY",
  19: "ENODEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  24: "EMFILE",
  26: "ETXTBSY",
  30: "EROFS",
  36: "ENAMETOOLONG",
  40: "ELOOP",
  95: "EOPNOTSUPP",
  110: "ETIMEDOUT",
  116: "ESTALE",
};

/** What a failed call left in errno: its number, its name and strerror's text. */
export interface LastError {
  errno: number;
  name: string;
  text: string;
}

/**
 * errno of the call that just failed, read before anything else can overwrite it, with its name
 * and strerror's text.
 */
export function lastError(
  libc: Deno.DynamicLibrary<typeof ERRNO_SYMBOLS>["symbols"],
): LastError {
  const errno = new Deno.UnsafePointerView(libc.__errno_location()!).getInt32();
  const message = libc.strerror(errno);
  return {
    errno,
    name: ERRNO_NAMES[errno] ?? `errno ${errno}`,
    text: message ? Deno.UnsafePointerView.getCString(message) : `errno ${errno}`,
  };
}
