/**
 * The relay's UDP half: queries from clients on the listening socket go out unchanged on a few
 * upstream sockets, and each answer goes back to the client that asked. Queries in flight sit in
 * one table per upstream socket indexed by message ID; one sweep (`sweep`) answers SERVFAIL to
 * those past their deadline, so a query costs no timer and no closure of its own.
 */
import { answers, judgeQuery, MAX_MESSAGE_SIZE, messageId, servfail } from "./message.ts";
import { closeQuietly, type RelayStats, sameAddress } from "./sockets.ts";

/** Queries waiting for the upstream over UDP, at most; more are dropped (clients retry). */
const MAX_UDP_IN_FLIGHT = 8192;
/**
 * Upstream UDP sockets, at most. Queries go out unchanged, so two in flight with the same ID must
 * leave from different sockets (ports) for their answers to be told apart; a new socket is opened
 * only when every open one has a query with that ID in flight.
 */
const MAX_UPSTREAM_SOCKETS = 16;

/** Where the UDP half listens and forwards to. */
export interface UdpSettings {
  listen: string;
  port: number;
  upstream: Deno.NetAddr;
  /** The address upstream sockets are bound to: the node's own, never a wildcard. */
  source: string;
  timeoutMs: number;
}

interface Pending {
  query: Uint8Array;
  questionEnd: number;
  client: Deno.NetAddr;
  deadline: number;
}

/** One upstream socket and its queries in flight, by message ID. */
interface Upstream {
  socket: Deno.DatagramConn;
  pending: Map<number, Pending>;
}

/** The UDP half of a relay: listens at construction, serves once `start` is called. */
export class UdpHalf {
  /** The port it listens on. */
  readonly port: number;
  readonly #settings: UdpSettings;
  readonly #stats: RelayStats;
  readonly #listener: Deno.DatagramConn;
  readonly #upstreams: Upstream[] = [];
  readonly #tasks: Promise<void>[] = [];
  #inFlight = 0;
  #closed = false;

  /** Opens the listening socket; throws when it cannot (address not here, port taken). */
  constructor(settings: UdpSettings, stats: RelayStats) {
    this.#settings = settings;
    this.#stats = stats;
    this.#listener = Deno.listenDatagram({
      transport: "udp",
      hostname: settings.listen,
      port: settings.port,
    });
    this.port = (this.#listener.addr as Deno.NetAddr).port;
  }

  /** Starts receiving queries. */
  start(): void {
    this.#tasks.push(this.#eachDatagram(this.#listener, (message, client) => {
      return this.#query(message, client);
    }));
  }

  /** Answers SERVFAIL to each query in flight whose deadline is past `now`. */
  sweep(now: number): void {
    for (const upstream of this.#upstreams) {
      for (const [id, query] of upstream.pending) {
        if (query.deadline > now) continue;
        this.#settle(upstream, id);
        this.#stats.servfails++;
        void this.#reply(servfail(query.query), query.client);
      }
    }
  }

  /** Closes every socket and waits for the receive loops to end. */
  async close(): Promise<void> {
    this.#closed = true;
    closeQuietly(this.#listener);
    for (const upstream of this.#upstreams) closeQuietly(upstream.socket);
    await Promise.allSettled(this.#tasks);
  }

  async #query(message: Uint8Array, client: Deno.NetAddr): Promise<void> {
    const stats = this.#stats;
    stats.udpQueries++;
    const verdict = judgeQuery(message);
    if (verdict.action === "drop") {
      stats.dropped++;
      return;
    }
    if (verdict.action === "servfail") {
      stats.servfails++;
      await this.#reply(servfail(message), client);
      return;
    }
    const id = messageId(message);
    const upstream = this.#inFlight < MAX_UDP_IN_FLIGHT ? this.#upstreamWithout(id) : undefined;
    if (upstream === undefined) {
      stats.dropped++;
      return;
    }
    const query = message.slice();
    if (upstream === "failed") {
      stats.servfails++;
      await this.#reply(servfail(query), client);
      return;
    }
    const deadline = Date.now() + this.#settings.timeoutMs;
    upstream.pending.set(id, { query, questionEnd: verdict.questionEnd, client, deadline });
    this.#inFlight++;
    try {
      await upstream.socket.send(query, this.#settings.upstream);
    } catch {
      // The upstream cannot be reached at all (no route): the client learns it at once.
      this.#settle(upstream, id);
      stats.socketErrors++;
      stats.servfails++;
      await this.#reply(servfail(query), client);
    }
  }

  // Answers only from the upstream's address and port, and only to a query in flight with the
  // same ID and question.
  async #answer(upstream: Upstream, answer: Uint8Array, source: Deno.NetAddr): Promise<void> {
    const target = this.#settings.upstream;
    if (source.port !== target.port || !sameAddress(source.hostname, target.hostname)) return;
    const id = messageId(answer);
    const query = upstream.pending.get(id);
    if (!query || !answers(answer, query.query, query.questionEnd)) return;
    this.#settle(upstream, id);
    this.#stats.answered++;
    // Sent before the buffer is reused for the next datagram.
    await this.#reply(answer, query.client);
  }

  #settle(upstream: Upstream, id: number): void {
    upstream.pending.delete(id);
    this.#inFlight--;
  }

  // An upstream socket with no query of this ID in flight: undefined when all may be open,
  // "failed" when a new one cannot be opened (out of descriptors).
  #upstreamWithout(id: number): Upstream | "failed" | undefined {
    for (const upstream of this.#upstreams) if (!upstream.pending.has(id)) return upstream;
    if (this.#upstreams.length >= MAX_UPSTREAM_SOCKETS) return undefined;
    let socket: Deno.DatagramConn;
    try {
      socket = Deno.listenDatagram({ transport: "udp", hostname: this.#settings.source, port: 0 });
    } catch {
      this.#stats.socketErrors++;
      return "failed";
    }
    const upstream: Upstream = { socket, pending: new Map() };
    this.#upstreams.push(upstream);
    this.#tasks.push(this.#eachDatagram(socket, (answer, source) => {
      return this.#answer(upstream, answer, source);
    }));
    return upstream;
  }

  async #reply(message: Uint8Array, client: Deno.NetAddr): Promise<void> {
    try {
      await this.#listener.send(message, client);
    } catch {
      // The client is gone or unreachable, or no buffer is left: the client retries.
      this.#stats.socketErrors++;
    }
  }

  // Each datagram `socket` receives, into one reused buffer, handed to `handle` before the next
  // receive; a failed receive is skipped, and ends the loop once the relay is closed.
  async #eachDatagram(
    socket: Deno.DatagramConn,
    handle: (message: Uint8Array, from: Deno.NetAddr) => Promise<void>,
  ): Promise<void> {
    const buffer = new Uint8Array(MAX_MESSAGE_SIZE);
    while (!this.#closed) {
      let received: [Uint8Array, Deno.Addr];
      try {
        received = await socket.receive(buffer);
      } catch {
        if (this.#closed) return;
        this.#stats.socketErrors++;
        continue;
      }
      try {
        await handle(received[0], received[1] as Deno.NetAddr);
      } catch {
        this.#stats.socketErrors++;
      }
    }
  }
}
