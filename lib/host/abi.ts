/**
 * The C ABI facts the FFI layer reads structs and calls the kernel by, per architecture: struct
 * sizes and field offsets of glibc's headers and syscall numbers of the kernel's, for the
 * architectures Deno ships for Linux. An architecture not listed gets no FFI path that depends
 * on a layout: the callers fall back to a program, or answer "unknown", rather than guess.
 */

/** Layouts and numbers of one architecture (Linux, glibc). */
export interface Abi {
  /** sizeof(struct statfs) and the offset of f_type, a `long` (__fsword_t). */
  statfs: { bytes: number; typeOffset: number };
  /** sizeof(struct addrinfo) and the offsets of ai_flags, ai_family and ai_addr (a pointer). */
  addrinfo: { bytes: number; flagsOffset: number; familyOffset: number; addrOffset: number };
  /** rt_sigaction(2)'s syscall number and sizeof the kernel's struct sigaction. */
  rtSigaction: { number: bigint; actionBytes: number };
  /** Syscall numbers of the DNS probe's calls (lib/dns/sockets.ts). */
  probe: Record<ProbeSyscall, number>;
}

/** The system calls the DNS probe makes. */
export type ProbeSyscall =
  | "close"
  | "socket"
  | "connect"
  | "sendto"
  | "recvfrom"
  | "getsockopt"
  | "openat"
  | "ppoll"
  | "setns";

/**
 * x86_64: arch/x86/entry/syscalls/syscall_64.tbl, glibc's x86_64 bits; aarch64: the kernel's
 * generic table (asm-generic/unistd.h) and glibc's generic bits. Both are LP64: statfs is seven
 * longs, f_fsid, three longs and four spare longs; addrinfo is four ints, socklen_t plus padding,
 * then three pointers; the kernel's sigaction is handler, flags, restorer and an 8-byte mask.
 * test/arm64 runs the FFI layer on both and compares the results.
 */
const LP64_GLIBC = {
  statfs: { bytes: 120, typeOffset: 0 },
  addrinfo: { bytes: 48, flagsOffset: 0, familyOffset: 4, addrOffset: 24 },
} as const;

const ABIS: Readonly<Record<string, Abi>> = {
  x86_64: {
    ...LP64_GLIBC,
    rtSigaction: { number: 13n, actionBytes: 32 },
    probe: {
      close: 3,
      socket: 41,
      connect: 42,
      sendto: 44,
      recvfrom: 45,
      getsockopt: 55,
      openat: 257,
      ppoll: 271,
      setns: 308,
    },
  },
  aarch64: {
    ...LP64_GLIBC,
    rtSigaction: { number: 134n, actionBytes: 32 },
    probe: {
      close: 57,
      socket: 198,
      connect: 203,
      sendto: 206,
      recvfrom: 207,
      getsockopt: 209,
      openat: 56,
      ppoll: 73,
      setns: 268,
    },
  },
};

/** The ABI of architecture `arch` (Deno.build.arch's names), or undefined when not known. */
export function abiFor(arch: string): Abi | undefined {
  return Object.hasOwn(ABIS, arch) ? ABIS[arch] : undefined;
}

/** The ABI of the architecture this process runs on, or undefined when not known. */
export function runningAbi(): Abi | undefined {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  return deno ? abiFor(deno.build.arch) : undefined;
}

/** Address families, the same on every Linux architecture. */
export const AF_INET = 2;
export const AF_INET6 = 10;

/** Offsets shared by every Linux architecture: sockaddr_in's sin_addr, sockaddr_in6's fields. */
export const SOCKADDR = { in4Addr: 4, in6Addr: 8, in6ScopeId: 24 } as const;
