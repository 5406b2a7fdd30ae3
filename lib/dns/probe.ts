/**
 * Asks one DNS server for one name over UDP and TCP at once, bounded in time, with the socket
 * calls of libc through Deno's FFI (lib/dns/sockets.ts): no process, no node: module, and no
 * `--unstable-net` (which Deno's own UDP sockets need and the launcher does not pass). Every call is non-blocking and one
 * poll(2) loop waits for all probes, so the whole check costs at most `timeoutMs`, and well under a
 * millisecond when the server answers. The diagnosis probes from another network namespace with
 * a `Kernel` that makes its sockets there (lib/dns/diagnose/netns.ts).
 */
import { buildQuery, type DnsResponse, frameForTcp, mismatch, parseResponse } from "./message.ts";
import { errnoWords } from "../errors.ts";
import { type Kernel, loadKernel, SOCK_DGRAM, SOCK_STREAM, sockaddrFor } from "./sockets.ts";

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

const POLLIN = 0x1;
const POLLOUT = 0x4;
const EINTR = 4;
const EAGAIN = 11;
const EINPROGRESS = 115;
const ECONNREFUSED = 111;

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
  const loop = openProbes(k, request);
  try {
    pump(loop, 0);
  } catch (error) {
    closeProbes(loop);
    throw error;
  }
  let results: ProbeResult[] | undefined;
  return { finish: () => results ??= finishProbes(loop) };
}

/** The probes of one request and what the loop over them needs. */
interface ProbeLoop {
  k: Kernel;
  request: ProbeRequest;
  probes: Pending[];
  done: Done;
  /** A UDP refusal is asked again later when the request says so (`retryRefused`). */
  refused: (pending: Pending) => boolean;
}

/** Opens a socket per transport and connects it (sending the query where it connects at once). */
function openProbes(k: Kernel, request: ProbeRequest): ProbeLoop {
  const start = performance.now();
  const address = sockaddrFor(request.server, request.port ?? 53);
  // The sockets' family is the address's own: sa_family, its first field (host byte order).
  const family = new DataView(address.buffer, address.byteOffset).getUint16(0, true);
  const done: Done = (pending, result) => {
    pending.result ??= {
      transport: pending.transport,
      ms: Math.round((performance.now() - start) * 100) / 100,
      ...result,
    };
  };
  const refused = (pending: Pending): boolean => {
    if (!request.retryRefused || pending.transport !== "UDP") return false;
    pending.phase = "refused";
    pending.wasRefused = true;
    pending.resendAt = performance.now() + RETRY_REFUSED_MS;
    return true;
  };
  const probes: Pending[] = openSockets(k, request.transports, family).map(({ transport, fd }) => ({
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
  return { k, request, probes, done, refused };
}

/** One poll(2) of the probes still waiting, for at most `waitMs`; false when none is left. */
function pump(loop: ProbeLoop, waitMs: number): boolean {
  const { k, request, probes, done, refused } = loop;
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
}

/** Waits for the answers within the bound, gives every probe left its failure, closes the sockets. */
function finishProbes(loop: ProbeLoop): ProbeResult[] {
  const { request, probes, done } = loop;
  // The bound is on the wait here, not on the time since the queries went out: the caller
  // may have been busy elsewhere meanwhile (a slow lookup, a program), and an answer that
  // arrived then is in the socket, not late. A last poll that does not wait collects it.
  const deadline = performance.now() + request.timeoutMs;
  try {
    for (;;) {
      const left = Math.max(0, Math.ceil(deadline - performance.now()));
      if (!pump(loop, left)) break;
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
    closeProbes(loop);
  }
  return probes.map((pending) => pending.result!);
}

/** Closes every socket the probes opened. */
function closeProbes(loop: ProbeLoop): void {
  for (const pending of loop.probes) if (pending.fd >= 0) loop.k.close(pending.fd);
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
