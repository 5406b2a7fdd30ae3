/**
 * Asks one DNS server for one name over UDP and TCP at once, bounded in time, with the socket
 * calls of libc through Deno's FFI: no process, no node: module, and no `--unstable-net` (which
 * Deno's own UDP sockets need and the launcher does not pass). Every call is non-blocking and one
 * poll(2) loop waits for all probes, so the whole check costs at most `timeoutMs`, and well under a
 * millisecond when the server answers. The diagnosis probes from another network namespace with
 * a `Kernel` that makes its sockets there (lib/dns/diagnose/netns.ts).
 */
import { buildQuery, type DnsResponse, frameForTcp, mismatch, parseResponse } from "./message.ts";
import { AF_INET, AF_INET6, runningAbi } from "../host/abi.ts";
import { parseIPv6 } from "../ip.ts";
import { errnoWords } from "../errors.ts";
import { cString, denoWithFfi, loadLibc } from "../host/ffi.ts";

/** The transports a probe uses. */
export type Transport = "UDP" | "TCP";

/** What one probe found. */
export interface ProbeResult {
  transport: Transport;
  /** The server answered the query (any response code). */
  answered: boolean;
  /** Milliseconds from the first call to the answer or the failure. */
  ms: number;
  response?: DnsResponse;
  /** Why there is no answer: `connection refused`, `no answer within 300 ms`, ... */
  error?: string;
}

/** What to ask, of whom, and for how long. */
export interface ProbeRequest {
  /** IPv4 or IPv6 address of the server. */
  server: string;
  /** Port (53 unless a test says otherwise). */
  port?: number;
  /** The name to ask for (type A). */
  name: string;
  transports: readonly Transport[];
  /** Bound on the whole probe, all transports together. */
  timeoutMs: number;
  /**
   * Over UDP, ask again after a refusal (an ICMP port unreachable) every `RETRY_REFUSED_MS` until
   * the bound, rather than report it at once: for a resolver that may not be listening yet, such
   * as podman's aardvark-dns, which is started with a network's first container and rebinds its
   * sockets whenever a container joins or leaves (aardvark-dns 1.4). The last refusal is the
   * result when the bound passes first.
   */
  retryRefused?: boolean;
}

/** How long a refused UDP query waits before it is sent again (`ProbeRequest.retryRefused`). */
export const RETRY_REFUSED_MS = 20;

/**
 * How long a UDP query waits for its answer before the same query is sent again, within the
 * bound, as resolvers do: a datagram lost on the way (aardvark-dns drops some while it reloads)
 * must not make a whole check fail. Any of the copies may be the one answered.
 */
export const UDP_RESEND_MS = 100;

/** Sends DNS probes; undefined where this runtime cannot call libc (see `loadProbe`). */
export type ProbeDns = (request: ProbeRequest) => ProbeResult[];

const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const AT_FDCWD = -100;
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const CLONE_NEWNET = 0x40000000;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const POLLIN = 0x1;
const POLLOUT = 0x4;
const EINTR = 4;
const EAGAIN = 11;
const EINPROGRESS = 115;
const ECONNREFUSED = 111;

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

/** One probe in flight. */
interface Pending {
  transport: Transport;
  fd: number;
  id: number;
  /** `refused`: a UDP query refused, to be sent again at `resendAt` (`retryRefused`). */
  phase: "connecting" | "reading" | "refused";
  received: number[];
  /** UDP: when the query is sent again, unanswered (`UDP_RESEND_MS`) or refused. */
  resendAt?: number;
  /** UDP: a query was refused, which is what the probe reports if no answer comes. */
  wasRefused?: boolean;
  result?: ProbeResult;
}

let kernel: Kernel | undefined;

/** Probes in flight: `finish` waits for the answers (once; later calls return the same). */
export interface ProbeInFlight {
  finish(): ProbeResult[];
}

/**
 * Starts probes and returns at once (see `startProbe`). `rehearse`, where present, runs the
 * probe's code once without sending anything (see `rehearseProbe`), and never throws: it runs
 * in a timer, where nothing may escape.
 */
export type StartProbe = ((request: ProbeRequest) => ProbeInFlight) & { rehearse?: () => void };

/**
 * The prober for this runtime: system calls through Deno's FFI, or undefined without it (Node.js,
 * Deno without the FFI permission, an architecture lib/host/abi.ts does not know), where the check is
 * skipped rather than done differently.
 */
export function loadProbe(): ProbeDns | undefined {
  const start = loadStartProbe();
  return start && ((request) => start(request).finish());
}

/** Like `loadProbe`, for a caller that has other work to do while the answers come. */
export function loadStartProbe(): StartProbe | undefined {
  const bound = loadKernel();
  return bound && kernelProbe(bound);
}

/** The system calls through Deno's FFI, or undefined without it (see `loadProbe`). */
export function loadKernel(): Kernel | undefined {
  const deno = denoWithFfi();
  if (!deno) return undefined;
  kernel ??= bindKernel(deno);
  return kernel;
}

/**
 * Probes through `bound`: a `StartProbe` whose rehearsal keeps what went wrong, which the probe
 * then throws when started, so that the check's warning says it.
 */
export function kernelProbe(bound: Kernel): StartProbe {
  let rehearsal: Error | undefined;
  return Object.assign((request: ProbeRequest) => {
    // The same code failed without sending anything: the check says so instead of running it.
    if (rehearsal) throw new Error(`its rehearsal failed: ${rehearsal.message}`);
    return startProbe(bound, request);
  }, {
    rehearse: () => {
      rehearsal ??= rehearseProbe(bound);
    },
  });
}

/**
 * Runs the probe's code once, sending nothing, so that V8 has compiled it and Deno has made its
 * first FFI calls before the real probe: on a node that first run costs ~2 ms, the round trips
 * to Docker's resolver ~0.5. Its sockets are made and closed but never connected (a TCP
 * connect would send a SYN) nor written to; an answer is parsed from a made-up message.
 * Returns what went wrong rather than throw it: the rehearsal runs in a timer, where an exception
 * would be an uncaught one in PID 1.
 */
export function rehearseProbe(k: Kernel): Error | undefined {
  try {
    const silent: Kernel = { ...k, connect: () => 0, send: (_fd, bytes) => bytes.length };
    const name = "rehearsal.invalid";
    startProbe(silent, { server: "127.0.0.1", name, transports: ["UDP", "TCP"], timeoutMs: 0 })
      .finish();
    const reply = buildQuery(name, 1);
    reply[2] |= 0x80;
    mismatch(parseResponse(reply), name, 1);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * Sends the queries (UDP at once; TCP as soon as the connection is up, which on a local path is
 * usually right away) and returns; `finish` waits for the answers, at most `timeoutMs`, and
 * closes the sockets.
 */
function startProbe(k: Kernel, request: ProbeRequest): ProbeInFlight {
  const start = performance.now();
  const address = sockaddrFor(request.server, request.port ?? 53);
  const family = request.server.includes(":") ? AF_INET6 : AF_INET;
  const done: Done = (pending, result) => {
    pending.result ??= {
      transport: pending.transport,
      ms: Math.round((performance.now() - start) * 100) / 100,
      ...result,
    };
  };
  const probes: Pending[] = openSockets(k, request.transports, family).map((
    { transport, fd },
  ) => ({
    transport,
    fd,
    id: Math.floor(Math.random() * 0x10000),
    phase: "reading",
    received: [],
  }));
  for (const pending of probes) {
    if (pending.fd < 0) {
      done(pending, { answered: false, error: `cannot open a socket: ${errnoWords(k.errno())}` });
    } else if (k.connect(pending.fd, address) === 0) {
      sendQuery(k, pending, request.name, done);
    } else if (k.errno() === EINPROGRESS) {
      pending.phase = "connecting";
    } else {
      done(pending, { answered: false, error: errnoWords(k.errno()) });
    }
  }
  /** A UDP refusal is asked again later when the request says so (`retryRefused`). */
  const refused = (pending: Pending): boolean => {
    if (!request.retryRefused || pending.transport !== "UDP") return false;
    pending.phase = "refused";
    pending.wasRefused = true;
    pending.resendAt = performance.now() + RETRY_REFUSED_MS;
    return true;
  };
  /** One poll(2) of the probes still waiting, for at most `waitMs`; false when none is left. */
  const pump = (waitMs: number): boolean => {
    const now = performance.now();
    for (const pending of probes) {
      if (!pending.result && pending.resendAt !== undefined && pending.resendAt <= now) {
        sendQuery(k, pending, request.name, done, refused);
      }
    }
    const left = probes.filter((pending) => !pending.result);
    if (left.length === 0) return false;
    // The wait ends when a query is due to be sent again; a refused one is not polled till then.
    const resends = left.flatMap((pending) => pending.resendAt ?? []);
    if (resends.length > 0) {
      waitMs = Math.min(waitMs, Math.max(0, Math.ceil(Math.min(...resends) - now)));
    }
    const waiting = left.filter((pending) => pending.phase !== "refused");
    const fds = new Uint8Array(8 * waiting.length);
    const view = new DataView(fds.buffer);
    waiting.forEach((pending, index) => {
      view.setInt32(index * 8, pending.fd, true);
      view.setInt16(index * 8 + 4, pending.phase === "connecting" ? POLLOUT : POLLIN, true);
    });
    if (k.poll(fds, waiting.length, waitMs) < 0) {
      const errno = k.errno();
      if (errno === EINTR) return true;
      for (const pending of waiting) {
        done(pending, { answered: false, error: `poll failed: ${errnoWords(errno)}` });
      }
      return false;
    }
    waiting.forEach((pending, index) => {
      if (view.getInt16(index * 8 + 6, true) === 0) return;
      if (pending.phase === "reading") {
        readAnswer(k, pending, request.name, done, refused);
        return;
      }
      const error = k.socketError(pending.fd);
      if (error !== 0) done(pending, { answered: false, error: errnoWords(error) });
      else sendQuery(k, pending, request.name, done);
    });
    return true;
  };
  try {
    pump(0);
  } catch (error) {
    for (const pending of probes) if (pending.fd >= 0) k.close(pending.fd);
    throw error;
  }
  let results: ProbeResult[] | undefined;
  return {
    finish() {
      if (results) return results;
      // The bound is on the wait here, not on the time since the queries went out: the caller
      // may have been busy elsewhere meanwhile (a slow lookup, a program), and an answer that
      // arrived then is in the socket, not late. A last poll that does not wait collects it.
      const deadline = performance.now() + request.timeoutMs;
      try {
        for (;;) {
          const left = Math.max(0, Math.ceil(deadline - performance.now()));
          if (!pump(left)) break;
          if (left === 0) {
            for (const pending of probes) {
              const what = pending.phase === "connecting" ? "connection" : "answer";
              done(pending, {
                answered: false,
                error: pending.wasRefused
                  ? errnoWords(ECONNREFUSED)
                  : `no ${what} within ${request.timeoutMs} ms`,
              });
            }
            break;
          }
        }
      } finally {
        for (const pending of probes) if (pending.fd >= 0) k.close(pending.fd);
      }
      results = probes.map((pending) => pending.result!);
      return results;
    },
  };
}

/** Creates the sockets; closes those made when one of the calls throws. */
function openSockets(
  k: Kernel,
  transports: readonly Transport[],
  family: number,
): { transport: Transport; fd: number }[] {
  const sockets: { transport: Transport; fd: number }[] = [];
  try {
    for (const transport of transports) {
      const type = transport === "UDP" ? SOCK_DGRAM : SOCK_STREAM;
      sockets.push({ transport, fd: k.socket(type, family) });
    }
  } catch (error) {
    for (const { fd } of sockets) if (fd >= 0) k.close(fd);
    throw error;
  }
  return sockets;
}

type Done = (pending: Pending, result: Omit<ProbeResult, "transport" | "ms">) => void;

function sendQuery(
  k: Kernel,
  pending: Pending,
  name: string,
  done: Done,
  refused?: (pending: Pending) => boolean,
): void {
  const query = buildQuery(name, pending.id);
  const bytes = pending.transport === "TCP" ? frameForTcp(query) : query;
  const sent = k.send(pending.fd, bytes);
  if (sent !== bytes.length) {
    const errno = sent < 0 ? k.errno() : 0;
    if (errno === ECONNREFUSED && refused?.(pending)) return;
    done(pending, {
      answered: false,
      error: sent < 0 ? errnoWords(errno) : `sent ${sent} of ${bytes.length} bytes`,
    });
    return;
  }
  pending.phase = "reading";
  if (pending.transport === "UDP") pending.resendAt = performance.now() + UDP_RESEND_MS;
}

function readAnswer(
  k: Kernel,
  pending: Pending,
  name: string,
  done: Done,
  refused: (pending: Pending) => boolean,
): void {
  const buffer = new Uint8Array(pending.transport === "UDP" ? 4096 : 65538);
  const count = k.recv(pending.fd, buffer);
  if (count < 0) {
    const errno = k.errno();
    if (errno === EAGAIN || errno === EINTR) return;
    if (errno === ECONNREFUSED && refused(pending)) return;
    done(pending, { answered: false, error: errnoWords(errno) });
    return;
  }
  let message: Uint8Array;
  if (pending.transport === "UDP") {
    message = buffer.slice(0, count);
  } else {
    if (count === 0) {
      done(pending, { answered: false, error: "the server closed the connection unanswered" });
      return;
    }
    pending.received.push(...buffer.subarray(0, count));
    if (pending.received.length < 2) return;
    const length = (pending.received[0] << 8) | pending.received[1];
    if (pending.received.length < 2 + length) return;
    message = Uint8Array.from(pending.received.slice(2, 2 + length));
  }
  let response: DnsResponse;
  try {
    response = parseResponse(message);
  } catch (error) {
    done(pending, { answered: false, error: `malformed answer: ${(error as Error).message}` });
    return;
  }
  const wrong = mismatch(response, name, pending.id);
  // Over UDP a stray datagram is not the answer: keep waiting for it.
  if (wrong && pending.transport === "UDP") return;
  if (wrong) done(pending, { answered: false, error: `wrong answer: ${wrong}` });
  else done(pending, { answered: true, response });
}
