/**
 * Calling glibc through Deno's FFI: one `dlopen` for the whole process, shared by the mount
 * syscalls (lib/host/syscalls.ts), the name lookups (lib/host/resolve.ts), the exec (lib/host/exec.ts) and the
 * DNS probe (lib/dns/probe.ts).
 */
import { errnoName } from "../errors.ts";

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

/** Every libc function the entrypoint calls. */
const LIBC_SYMBOLS = {
  // lib/host/syscalls.ts
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "buffer"], result: "i32" },
  umount2: { parameters: ["buffer", "i32"], result: "i32" },
  statfs: { parameters: ["buffer", "buffer"], result: "i32" },
  // lib/host/real.ts: `which`
  access: { parameters: ["buffer", "i32"], result: "i32" },
  // lib/host/exec.ts
  execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  sigprocmask: { parameters: ["i32", "buffer", "pointer"], result: "i32" },
  signal: { parameters: ["i32", "pointer"], result: "pointer" },
  syscall: { parameters: ["i64", "i64", "buffer", "pointer", "i64"], result: "i64" },
  // lib/boot/signals.ts: SIGRTMIN+3's handler is alarm(), found with dlsym (in libc since glibc 2.34;
  // optional, so an older libc only loses that handler).
  alarm: { parameters: ["u32"], result: "u32", optional: true },
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer", optional: true },
  // lib/host/resolve.ts
  getaddrinfo: {
    parameters: ["buffer", "pointer", "buffer", "buffer"],
    result: "i32",
    // Runs on a worker thread, so a slow resolver cannot block the event loop (or our timeout).
    nonblocking: true,
  },
  freeaddrinfo: { parameters: ["pointer"], result: "void" },
  inet_ntop: { parameters: ["i32", "pointer", "buffer", "u32"], result: "pointer" },
  // lib/dns/sockets.ts: the socket calls, all through syscall(2) (one binding instead of nine)
  syscall6: {
    name: "syscall",
    parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"],
    result: "i64",
  },
  // errno
  strerror: { parameters: ["i32"], result: "pointer" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** glibc's functions, bound. */
export type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

let libc: Libc | null | undefined;

/**
 * glibc, opened once; undefined when this runtime has no FFI (Node, or Deno without the FFI
 * permission) or libc.so.6 cannot be opened.
 */
export function loadLibc(): Libc | undefined {
  if (libc === undefined) libc = openLibc() ?? null;
  return libc ?? undefined;
}

function openLibc(): Libc | undefined {
  const deno = denoWithFfi();
  if (deno === undefined || deno.build.os !== "linux") return undefined;
  try {
    return deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
  } catch {
    return undefined;
  }
}

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
export function lastError(libc: Libc): LastError {
  const errno = new Deno.UnsafePointerView(libc.__errno_location()!).getInt32();
  const message = libc.strerror(errno);
  return {
    errno,
    name: errnoName(errno),
    text: message ? Deno.UnsafePointerView.getCString(message) : `errno ${errno}`,
  };
}
