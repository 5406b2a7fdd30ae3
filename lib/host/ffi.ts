/**
 * Calling glibc through Deno's FFI: one binding for the whole process, shared by the mount
 * syscalls (lib/host/syscalls.ts), the name lookups (lib/host/resolve.ts), the exec (lib/host/exec.ts) and the
 * DNS probe (lib/dns/probe.ts). Each function is bound at its first use: binding compiles a
 * trampoline per function (about 0.3 ms each), and the boot's first programs (the iptables dumps,
 * whose wait is on its critical path) start sooner when only the few functions needed before them
 * are bound first.
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
export const LIBC_SYMBOLS = {
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

/** The name of a libc function in `LIBC_SYMBOLS`. */
type LibcName = keyof typeof LIBC_SYMBOLS;

/**
 * The functions bound together, at the first use of any of them: those one part of a boot
 * calls at about the same point (one binding call costs about 0.1 ms beyond its trampolines).
 */
export const LIBC_GROUPS: readonly (readonly LibcName[])[] = [
  ["signal", "alarm", "dlsym"],
  ["mount", "umount2", "statfs"],
  ["access"],
  ["getaddrinfo", "freeaddrinfo", "inet_ntop"],
  ["syscall6", "__errno_location", "strerror"],
  ["execve", "sigprocmask", "syscall"],
];

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
    // Opened now, so that a missing libc shows here; its functions are bound one by one.
    deno.dlopen("libc.so.6", {});
  } catch {
    return undefined;
  }
  return bindOnFirstUse(LIBC_GROUPS, (names) => {
    const definitions = Object.fromEntries(names.map((name) => [name, LIBC_SYMBOLS[name]]));
    return deno.dlopen("libc.so.6", definitions as typeof LIBC_SYMBOLS).symbols;
  }) as Libc;
}

/**
 * An object with a property per name in `groups` whose value is made at the first read of any
 * name of its group, by one `bind` of the whole group; later reads get the same values.
 */
export function bindOnFirstUse<K extends string, V>(
  groups: readonly (readonly K[])[],
  bind: (names: readonly K[]) => Readonly<Record<K, V>>,
): Record<K, V> {
  const bound = {} as Record<K, V>;
  for (const group of groups) {
    for (const name of group) {
      Object.defineProperty(bound, name, {
        configurable: true,
        enumerable: true,
        get() {
          const values = bind(group);
          for (const each of group) {
            Object.defineProperty(bound, each, { value: values[each], enumerable: true });
          }
          return values[name];
        },
      });
    }
  }
  return bound;
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
