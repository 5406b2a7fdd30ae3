/**
 * The DNS probe's system calls through Deno's FFI (lib/dns/probe.ts runs the probe over them):
 * the `Kernel` a probe calls, bound through one libc symbol, and the address it connects to.
 */
import { AF_INET, AF_INET6, runningAbi } from "../host/abi.ts";
import { parseIPv6 } from "../ip.ts";
import { cString, denoWithFfi, loadLibc } from "../host/ffi.ts";

/** socket(2)'s type for TCP. */
export const SOCK_STREAM = 1;
/** socket(2)'s type for UDP. */
export const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const AT_FDCWD = -100;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const CLONE_NEWNET = 0x40000000;
const SOL_SOCKET = 1;
const SO_ERROR = 4;

/** The system calls a probe makes; each returns -1 on failure, with `errno()` saying why. */
export interface Kernel {
  /** A socket of `type` in `family` (AF_INET unless given). */
  socket(type: number, family?: number): number;
  connect(fd: number, address: Uint8Array): number;
  send(fd: number, bytes: Uint8Array): number;
  recv(fd: number, buffer: Uint8Array): number;
  /** ppoll(2) over `fds` (struct pollfd[]) for at most `ms` milliseconds. */
  poll(fds: Uint8Array, count: number, ms: number): number;
  socketError(fd: number): number;
  open(path: string): number;
  setns(fd: number): number;
  close(fd: number): number;
  errno(): number;
}

/**
 * The calls through one libc binding, glibc's syscall(2) (`syscall6` in lib/host/ffi.ts), with the
 * numbers of lib/host/abi.ts: Deno compiles a trampoline for every symbol it binds (~0.2 ms each
 * here), and the process binds libc on every boot, so nine socket functions would cost more than
 * the probe itself.
 */
function bindKernel(deno: typeof Deno): Kernel | undefined {
  const numbers = runningAbi()?.probe;
  const libc = loadLibc();
  if (!numbers || !libc) return undefined;
  const { syscall6: syscall, __errno_location } = libc;
  const errnoView = new deno.UnsafePointerView(__errno_location()!);
  const address = (bytes: Uint8Array) =>
    BigInt(deno.UnsafePointer.value(deno.UnsafePointer.of(bytes)));
  const call = (nr: number, a = 0n, b = 0n, c = 0n, d = 0n, e = 0n) =>
    Number(syscall(BigInt(nr), a, b, c, d, e, 0n));
  return {
    socket: (type, family = AF_INET) =>
      call(numbers.socket, BigInt(family), BigInt(type | SOCK_NONBLOCK | SOCK_CLOEXEC)),
    connect: (fd, addr) => call(numbers.connect, BigInt(fd), address(addr), BigInt(addr.length)),
    send: (fd, bytes) => call(numbers.sendto, BigInt(fd), address(bytes), BigInt(bytes.length)),
    recv: (fd, buffer) =>
      call(numbers.recvfrom, BigInt(fd), address(buffer), BigInt(buffer.length)),
    poll(fds, count, ms) {
      const timeout = new BigInt64Array([BigInt(Math.floor(ms / 1000)), BigInt((ms % 1000) * 1e6)]);
      return call(
        numbers.ppoll,
        address(fds),
        BigInt(count),
        address(new Uint8Array(timeout.buffer)),
      );
    },
    socketError(fd) {
      const value = new Int32Array(1);
      const size = new Uint32Array([4]);
      const rc = call(
        numbers.getsockopt,
        BigInt(fd),
        BigInt(SOL_SOCKET),
        BigInt(SO_ERROR),
        address(new Uint8Array(value.buffer)),
        address(new Uint8Array(size.buffer)),
      );
      return rc < 0 ? errnoView.getInt32() : value[0];
    },
    open: (path) =>
      call(numbers.openat, BigInt(AT_FDCWD), address(cString(path)), BigInt(O_RDONLY | O_CLOEXEC)),
    setns: (fd) => call(numbers.setns, BigInt(fd), BigInt(CLONE_NEWNET)),
    close: (fd) => call(numbers.close, BigInt(fd)),
    errno: () => errnoView.getInt32(),
  };
}

/** A struct sockaddr_in for `address:port`. */
export function sockaddrIn(address: string, port: number): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port);
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((part) => !(part >= 0 && part <= 255))) {
    throw new Error(`${address} is not an IPv4 address`);
  }
  bytes.set(parts, 4);
  return bytes;
}

let kernel: Kernel | undefined;

/** The system calls through Deno's FFI, or undefined without it (see lib/dns/probe.ts's `loadProbe`). */
export function loadKernel(): Kernel | undefined {
  const deno = denoWithFfi();
  if (!deno) return undefined;
  kernel ??= bindKernel(deno);
  return kernel;
}

/** A struct sockaddr_in6 for `address` (an IPv6 literal) and `port`. */
export function sockaddrIn6(address: string, port: number): Uint8Array {
  const groups = parseIPv6(address);
  if (!groups) throw new Error(`${address} is not an IPv6 address`);
  const bytes = new Uint8Array(28);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, AF_INET6, true);
  view.setUint16(2, port);
  groups.forEach((group, i) => view.setUint16(8 + 2 * i, group));
  return bytes;
}

/** The socket address for `address:port`: IPv6 when the literal has a colon, else IPv4. */
export function sockaddrFor(address: string, port: number): Uint8Array {
  return address.includes(":") ? sockaddrIn6(address, port) : sockaddrIn(address, port);
}
