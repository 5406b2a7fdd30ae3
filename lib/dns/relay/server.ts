/**
 * The DNS relay: a forwarder on one address, UDP and TCP, that sends each query unchanged to one
 * upstream nameserver and each answer back unchanged (same ID, TC bit and all, so a client told to
 * retry over TCP does, and gets the whole answer there). It exists for IPv6-only pods on Docker:
 * Docker's resolver answers on 127.0.0.11 only, and the node's IPv4 host address that kind points
 * resolv.conf at is unreachable from a pod without IPv4 (see docs/ipv6.md).
 *
 * Deno's own APIs only (no Node.js compatibility layer): `Deno.listenDatagram` (needs
 * `--unstable-net`) with one receive buffer per socket, reused for every datagram, which keeps
 * the process's memory flat under load; `Deno.listen`/`Deno.connect` for TCP. Every wait on the
 * upstream is bounded; a query without an answer in time is answered SERVFAIL, a malformed one
 * SERVFAIL or dropped (lib/dns/relay/message.ts), and nothing a client or the upstream sends can
 * end the process.
 */
import {
  answers,
  frame,
  FrameReader,
  judgeQuery,
  MAX_MESSAGE_SIZE,
  messageId,
  servfail,
} from "./message.ts";

/** How long the upstream may take to answer a query before the client gets SERVFAIL. */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 2000;
/** Queries waiting for the upstream over UDP, at most; more are dropped (clients retry). */
export const MAX_UDP_IN_FLIGHT = 8192;
/**
 * Upstream UDP sockets, at most. Queries go out unchanged, so two in flight with the same ID must
 * leave from different sockets (ports) for their answers to be told apart; a new socket is opened
 * only when every open one has a query with that ID in flight.
 */
export const MAX_UPSTREAM_SOCKETS = 16;
/** Client TCP connections open at once, at most; more are closed at once. */
export const MAX_TCP_CONNECTIONS = 256;
/** A client TCP connection with nothing to send or receive for this long is closed. */
export const TCP_IDLE_TIMEOUT_MS = 10_000;

/** Settings of `startRelay`. */
export interface RelayOptions {
  /** The address to listen on (IPv6 or IPv4 literal): the node's own, never a wildcard. */
  listen: string;
  /** Port for both UDP and TCP (default 53); 0 takes a free UDP port and the same for TCP. */
  port?: number;
  /** The nameserver to forward to (an address literal). */
  upstream: string;
  /** Its port (default 53). */
  upstreamPort?: number;
  /** See `DEFAULT_UPSTREAM_TIMEOUT_MS`. */
  timeoutMs?: number;
}

/** A running relay. */
export interface Relay {
  /** The port it listens on (UDP and TCP). */
  readonly port: number;
  /** Counters since the start, for tests and the benchmark. */
  readonly stats: RelayStats;
  /** Stops listening, drops what is in flight and closes every socket. */
  close(): Promise<void>;
}

/** What a relay has done. */
export interface RelayStats {
  udpQueries: number;
  tcpQueries: number;
  answered: number;
  servfails: number;
  dropped: number;
}

interface Pending {
  query: Uint8Array;
  questionEnd: number;
  client: Deno.NetAddr;
  deadline: number;
}

/**
 * One upstream UDP socket and its queries in flight, indexed by message ID (an array of 65536
 * slots rather than a Map: no allocation per query beyond the entry itself).
 */
interface Upstream {
  socket: Deno.DatagramConn;
  pending: (Pending | undefined)[];
  count: number;
}

/** Starts a relay; throws when it cannot listen (address not on this machine, port taken). */
export function startRelay(options: RelayOptions): Relay {
  const timeoutMs = options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
  const target: Deno.NetAddr = {
    transport: "udp",
    hostname: options.upstream,
    port: options.upstreamPort ?? 53,
  };
  const stats: RelayStats = { udpQueries: 0, tcpQueries: 0, answered: 0, servfails: 0, dropped: 0 };
  const listener = Deno.listenDatagram({
    transport: "udp",
    hostname: options.listen,
    port: options.port ?? 53,
  });
  const port = (listener.addr as Deno.NetAddr).port;
  let tcp: Deno.Listener;
  try {
    tcp = Deno.listen({ transport: "tcp", hostname: options.listen, port });
  } catch (error) {
    listener.close();
    throw error;
  }
  let closed = false;
  const upstreams: Upstream[] = [];
  let inFlight = 0;
  const connections = new Set<Deno.Conn>();
  const tasks: Promise<void>[] = [];

  const reply = async (message: Uint8Array, client: Deno.NetAddr) => {
    try {
      await listener.send(message, client);
    } catch {
      // The client is gone or unreachable: nothing to do.
    }
  };

  const upstreamWithout = (id: number): Upstream | undefined => {
    for (const upstream of upstreams) if (upstream.pending[id] === undefined) return upstream;
    if (upstreams.length >= MAX_UPSTREAM_SOCKETS) return undefined;
    const socket = Deno.listenDatagram({
      transport: "udp",
      hostname: target.hostname.includes(":") ? "::" : "0.0.0.0",
      port: 0,
    });
    const upstream: Upstream = { socket, pending: new Array(65536).fill(undefined), count: 0 };
    upstreams.push(upstream);
    tasks.push(receiveAnswers(upstream));
    return upstream;
  };

  // Each datagram `socket` receives, into one reused buffer, handed to `handle` before the next
  // receive; a failed receive is skipped, and ends the loop once the relay is closed.
  async function eachDatagram(
    socket: Deno.DatagramConn,
    handle: (message: Uint8Array, from: Deno.NetAddr) => Promise<void>,
  ): Promise<void> {
    const buffer = new Uint8Array(MAX_MESSAGE_SIZE);
    while (!closed) {
      let received: [Uint8Array, Deno.Addr];
      try {
        received = await socket.receive(buffer);
      } catch {
        if (closed) return;
        continue;
      }
      await handle(received[0], received[1] as Deno.NetAddr);
    }
  }

  // Answers from the upstream: only from its address and port, and only to a query in flight
  // with the same ID and question.
  function receiveAnswers(upstream: Upstream): Promise<void> {
    const { socket, pending } = upstream;
    return eachDatagram(socket, async (answer, source) => {
      if (source.port !== target.port || !sameAddress(source.hostname, target.hostname)) return;
      const id = messageId(answer);
      const query = pending[id];
      if (!query || !answers(answer, query.query, query.questionEnd)) return;
      pending[id] = undefined;
      upstream.count--;
      inFlight--;
      stats.answered++;
      // Sent before the buffer is reused for the next datagram.
      await reply(answer, query.client);
    });
  }

  function receiveQueries(): Promise<void> {
    return eachDatagram(listener, async (message, client) => {
      stats.udpQueries++;
      const verdict = judgeQuery(message);
      if (verdict.action === "drop") {
        stats.dropped++;
        return;
      }
      if (verdict.action === "servfail") {
        stats.servfails++;
        await reply(servfail(message), client);
        return;
      }
      const id = messageId(message);
      const upstream = inFlight < MAX_UDP_IN_FLIGHT ? upstreamWithout(id) : undefined;
      if (!upstream) {
        stats.dropped++;
        return;
      }
      const query = message.slice();
      upstream.pending[id] = {
        query,
        questionEnd: verdict.questionEnd,
        client,
        deadline: Date.now() + timeoutMs,
      };
      upstream.count++;
      inFlight++;
      try {
        await upstream.socket.send(query, target);
      } catch {
        // The upstream cannot be reached at all (no route): the client learns it at once.
        upstream.pending[id] = undefined;
        upstream.count--;
        inFlight--;
        stats.servfails++;
        await reply(servfail(query), client);
      }
    });
  }

  // Queries the upstream left unanswered get SERVFAIL once their time is up.
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const upstream of upstreams) {
      const { pending } = upstream;
      for (let id = 0; upstream.count > 0 && id < pending.length; id++) {
        const query = pending[id];
        if (query === undefined || query.deadline > now) continue;
        pending[id] = undefined;
        upstream.count--;
        inFlight--;
        stats.servfails++;
        void reply(servfail(query.query), query.client);
      }
    }
  }, Math.max(5, Math.min(250, Math.floor(timeoutMs / 4))));

  async function acceptConnections(): Promise<void> {
    while (!closed) {
      let conn: Deno.Conn;
      try {
        conn = await tcp.accept();
      } catch {
        if (closed) return;
        continue;
      }
      if (connections.size >= MAX_TCP_CONNECTIONS) {
        conn.close();
        continue;
      }
      connections.add(conn);
      void serveConnection(conn).finally(() => {
        connections.delete(conn);
        closeQuietly(conn);
      });
    }
  }

  // One client connection: queries may arrive back to back (pipelined); each is forwarded on its
  // own upstream connection, and answers go back as they come, one whole message at a time.
  async function serveConnection(conn: Deno.Conn): Promise<void> {
    const reader = new FrameReader();
    const buffer = new Uint8Array(16 * 1024);
    let writes = Promise.resolve();
    const answering = new Set<Promise<void>>();
    let idle: ReturnType<typeof setTimeout> | undefined;
    const resetIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => closeQuietly(conn), TCP_IDLE_TIMEOUT_MS);
    };
    resetIdle();
    try {
      for (;;) {
        let count: number | null;
        try {
          count = await conn.read(buffer);
        } catch {
          break;
        }
        if (count === null) break;
        resetIdle();
        for (const query of reader.push(buffer.subarray(0, count))) {
          stats.tcpQueries++;
          const task = forwardOverTcp(query).then((answer) => {
            if (answer === undefined) return;
            writes = writes.then(() => writeAll(conn, frame(answer))).then(resetIdle, () => {});
            return writes;
          });
          answering.add(task);
          void task.finally(() => answering.delete(task));
        }
      }
      await Promise.all(answering);
      await writes;
    } finally {
      clearTimeout(idle);
    }
  }

  async function forwardOverTcp(query: Uint8Array): Promise<Uint8Array | undefined> {
    const verdict = judgeQuery(query);
    if (verdict.action === "drop") {
      stats.dropped++;
      return undefined;
    }
    if (verdict.action === "forward") {
      const answer = await exchangeOverTcp(query, { ...target, transport: "tcp" }, timeoutMs);
      if (answer && answers(answer, query, verdict.questionEnd)) {
        stats.answered++;
        return answer;
      }
    }
    stats.servfails++;
    return servfail(query);
  }

  tasks.push(receiveQueries(), acceptConnections());

  return {
    port,
    stats,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweep);
      for (const closable of [listener, tcp, ...upstreams.map((u) => u.socket), ...connections]) {
        closeQuietly(closable);
      }
      await Promise.allSettled(tasks);
    },
  };
}

/**
 * One query over its own TCP connection to `upstream`: connects, sends it framed, reads one framed
 * message back. Undefined when that fails or does not finish within `timeoutMs`.
 */
export async function exchangeOverTcp(
  query: Uint8Array,
  upstream: Deno.NetAddr,
  timeoutMs: number,
): Promise<Uint8Array | undefined> {
  let conn: Deno.TcpConn | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    closeQuietly(conn);
  }, timeoutMs);
  try {
    const connecting = Deno.connect({ hostname: upstream.hostname, port: upstream.port });
    conn = await Promise.race([connecting, deadline(timeoutMs)]);
    if (!conn || timedOut) {
      // A connection that completes after the deadline is closed when it does.
      void connecting.then((late) => late.close(), () => {});
      return undefined;
    }
    await writeAll(conn, frame(query));
    const reader = new FrameReader();
    const buffer = new Uint8Array(16 * 1024);
    for (;;) {
      const count = await conn.read(buffer);
      if (count === null) return undefined;
      const [answer] = reader.push(buffer.subarray(0, count));
      if (answer) return answer;
    }
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    if (!timedOut) closeQuietly(conn);
  }
}

/** A promise that resolves to undefined after `ms`. */
function deadline(ms: number): Promise<undefined> {
  return new Promise((resolve) => setTimeout(() => resolve(undefined), ms));
}

/** Closes a socket that may already be closed. */
function closeQuietly(closable: { close(): void } | undefined): void {
  try {
    closable?.close();
  } catch {
    // Already closed.
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += await conn.write(bytes.subarray(offset));
  }
}

/** Whether two address literals name the same address (IPv4-mapped IPv6 counts as the IPv4). */
function sameAddress(a: string, b: string): boolean {
  const plain = (address: string) => address.toLowerCase().replace(/^::ffff:(?=\d+\.)/, "");
  return plain(a) === plain(b);
}
