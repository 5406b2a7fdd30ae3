/**
 * The relay's TCP half. Each client connection gets at most one upstream connection, opened with
 * its first query, that carries all of that client's queries (pipelined) and brings their answers
 * back, matched by ID and question. What one client can hold is bounded: `maxInFlight` queries
 * read and not yet answered to it (past that the relay stops reading from it, so a client that
 * never reads stalls only itself), one read's worth of queries waiting behind them, one message
 * being gathered. Deadlines are checked by one sweep (`sweep`), never a timer per query: an upstream
 * answer (`timeoutMs`, then SERVFAIL), a whole message once its first byte is in (`messageMs`),
 * and a whole message in either direction (`idleMs`; a byte alone does not count). When every slot
 * is taken, a new client evicts the connection idle the longest; a failed accept (out of
 * descriptors) backs off instead of spinning. No socket error leaves this module.
 */
import { answers, frame, FrameReader, judgeQuery, servfail } from "./message.ts";
import { closeQuietly, type RelayStats, sleep, writeAll } from "./sockets.ts";

/** Client TCP connections open at once, at most (and so upstream TCP connections too). */
export const MAX_TCP_CONNECTIONS = 256;
/** Queries of one client connection read and not yet answered, at most. */
export const MAX_TCP_IN_FLIGHT = 32;
/** A client connection without a whole message in or out for this long is closed. */
export const TCP_IDLE_TIMEOUT_MS = 10_000;
/** A message begun by a client must be whole within this long, or its connection is closed. */
export const TCP_MESSAGE_TIMEOUT_MS = 2_000;
/** The longest wait after failed accepts in a row (the wait doubles from 10 ms). */
const MAX_ACCEPT_BACKOFF_MS = 1_000;

/** Where the TCP half listens and forwards to, and its bounds. */
export interface TcpSettings {
  listen: string;
  port: number;
  upstream: Deno.NetAddr;
  timeoutMs: number;
  maxConnections: number;
  maxInFlight: number;
  idleMs: number;
  messageMs: number;
}

interface Waiting {
  query: Uint8Array;
  questionEnd: number;
  deadline: number;
}

/** Writes byte arrays to a connection in order, one at a time, from a queue. */
class Outbox {
  readonly #queue: Uint8Array[] = [];
  #running = false;

  constructor(
    readonly conn: Deno.Conn,
    readonly events: { written(): void; failed(): void },
  ) {}

  push(bytes: Uint8Array): void {
    this.#queue.push(bytes);
    if (!this.#running) void this.#run();
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        await writeAll(this.conn, this.#queue[0]);
        this.#queue.shift();
        this.events.written();
      }
    } catch {
      this.#queue.length = 0;
      this.events.failed();
    } finally {
      this.#running = false;
    }
  }
}

/** One upstream connection: queries queue until it is open. */
interface Link {
  outbox: Outbox | undefined;
  early: Uint8Array[];
}

/** One client connection and what it has in flight. */
interface Client {
  conn: Deno.Conn;
  out: Outbox;
  reader: FrameReader;
  /** Queries read, not yet forwarded (over `maxInFlight`). */
  backlog: Uint8Array[];
  /** Queries forwarded, waiting for the upstream's answer. */
  waiting: Waiting[];
  /** Queries read and not yet answered to the client (forwarded or being written back). */
  inFlight: number;
  lastWhole: number;
  messageStarted: number;
  link: Link | undefined;
  closed: boolean;
  wake: (() => void) | undefined;
}

/** The TCP half of a relay: listens at construction, serves once `start` is called. */
export class TcpHalf {
  readonly #settings: TcpSettings;
  readonly #stats: RelayStats;
  readonly #listener: Deno.Listener;
  readonly #clients = new Set<Client>();
  #accepting: Promise<void> | undefined;
  #closed = false;

  /** Opens the listening socket; throws when it cannot. */
  constructor(settings: TcpSettings, stats: RelayStats) {
    this.#settings = settings;
    this.#stats = stats;
    this.#listener = Deno.listen({
      transport: "tcp",
      hostname: settings.listen,
      port: settings.port,
    });
  }

  /** Starts accepting connections. */
  start(): void {
    this.#accepting = this.#acceptLoop();
  }

  /** Client connections open now. */
  get connections(): number {
    return this.#clients.size;
  }

  /** Enforces the deadlines as of `now`: SERVFAIL for late answers, closes slow or idle clients. */
  sweep(now: number): void {
    const { idleMs, messageMs } = this.#settings;
    for (const client of this.#clients) {
      const slow = client.messageStarted > 0 && now - client.messageStarted > messageMs;
      if (slow || now - client.lastWhole > idleMs) {
        this.#stats.tcpClosed++;
        this.#drop(client);
        continue;
      }
      for (let i = 0; i < client.waiting.length; i++) {
        const waiting = client.waiting[i];
        if (waiting.deadline > now) continue;
        client.waiting.splice(i--, 1);
        this.#stats.servfails++;
        client.out.push(frame(servfail(waiting.query)));
      }
    }
  }

  /** Stops listening, closes every connection and waits for the accept loop to end. */
  async close(): Promise<void> {
    this.#closed = true;
    closeQuietly(this.#listener);
    for (const client of this.#clients) this.#drop(client);
    await this.#accepting;
  }

  async #acceptLoop(): Promise<void> {
    let backoff = 0;
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
        backoff = 0;
      } catch {
        if (this.#closed) return;
        this.#stats.socketErrors++;
        backoff = Math.min(Math.max(10, backoff * 2), MAX_ACCEPT_BACKOFF_MS);
        await sleep(backoff);
        continue;
      }
      if (this.#clients.size >= this.#settings.maxConnections && !this.#evictIdlest()) {
        this.#stats.tcpClosed++;
        closeQuietly(conn);
        continue;
      }
      void this.#serve(conn);
    }
  }

  // Closes the client connection idle the longest among those with nothing in flight.
  #evictIdlest(): boolean {
    let idlest: Client | undefined;
    for (const client of this.#clients) {
      if (client.inFlight > 0 || client.backlog.length > 0) continue;
      if (!idlest || client.lastWhole < idlest.lastWhole) idlest = client;
    }
    if (!idlest) return false;
    this.#stats.tcpClosed++;
    this.#drop(idlest);
    return true;
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const out = new Outbox(conn, {
      written: () => {
        client.inFlight--;
        client.lastWhole = Date.now();
        this.#pump(client);
        this.#wake(client);
      },
      failed: () => this.#drop(client),
    });
    const client: Client = {
      conn,
      out,
      reader: new FrameReader(),
      backlog: [],
      waiting: [],
      inFlight: 0,
      lastWhole: Date.now(),
      messageStarted: 0,
      link: undefined,
      closed: false,
      wake: undefined,
    };
    this.#clients.add(client);
    try {
      await this.#readQueries(client);
      while (!client.closed && client.inFlight > 0) await this.#sleepUntilWoken(client);
    } finally {
      this.#drop(client);
    }
  }

  // Reads queries while the client has room for more; returns when it ends its side.
  async #readQueries(client: Client): Promise<void> {
    const buffer = new Uint8Array(16 * 1024);
    const { maxInFlight } = this.#settings;
    while (!client.closed) {
      if (client.inFlight >= maxInFlight || client.backlog.length > 0) {
        await this.#sleepUntilWoken(client);
        continue;
      }
      let count: number | null;
      try {
        count = await client.conn.read(buffer);
      } catch {
        return;
      }
      if (count === null) return;
      const messages = client.reader.push(buffer.subarray(0, count));
      if (messages.length > 0) client.lastWhole = Date.now();
      client.messageStarted = client.reader.pending === 0 ? 0 : client.messageStarted || Date.now();
      this.#stats.tcpQueries += messages.length;
      client.backlog.push(...messages);
      this.#pump(client);
    }
  }

  // Forwards backlogged queries while the client has room in flight.
  #pump(client: Client): void {
    while (!client.closed && client.backlog.length > 0) {
      if (client.inFlight >= this.#settings.maxInFlight) return;
      const query = client.backlog.shift()!;
      const verdict = judgeQuery(query);
      if (verdict.action === "drop") {
        this.#stats.dropped++;
        continue;
      }
      client.inFlight++;
      if (verdict.action === "servfail") {
        this.#stats.servfails++;
        client.out.push(frame(servfail(query)));
        continue;
      }
      const deadline = Date.now() + this.#settings.timeoutMs;
      client.waiting.push({ query, questionEnd: verdict.questionEnd, deadline });
      client.link ??= this.#openLink(client);
      const link = client.link;
      if (link.outbox) link.outbox.push(frame(query));
      else link.early.push(frame(query));
    }
  }

  #openLink(client: Client): Link {
    const link: Link = { outbox: undefined, early: [] };
    void this.#runLink(client, link);
    return link;
  }

  // Connects to the upstream, sends what queued meanwhile and reads answers until the link ends;
  // then every query still waiting on it is answered SERVFAIL.
  async #runLink(client: Client, link: Link): Promise<void> {
    let conn: Deno.TcpConn | undefined;
    try {
      conn = await this.#connect();
      if (!conn) return;
      if (client.closed) return;
      const outbox = new Outbox(conn, { written() {}, failed: () => closeQuietly(conn) });
      link.outbox = outbox;
      for (const bytes of link.early.splice(0)) outbox.push(bytes);
      await this.#readAnswers(client, conn);
    } catch {
      // Refused, reset, out of descriptors, or closed with its client: SERVFAIL below.
      if (!client.closed) this.#stats.socketErrors++;
    } finally {
      closeQuietly(conn);
      if (client.link === link) client.link = undefined;
      for (const waiting of client.closed ? [] : client.waiting.splice(0)) {
        this.#stats.servfails++;
        client.out.push(frame(servfail(waiting.query)));
      }
    }
  }

  // A connection to the upstream within the upstream timeout, or undefined.
  async #connect(): Promise<Deno.TcpConn | undefined> {
    const { hostname, port } = this.#settings.upstream;
    const connecting = Deno.connect({ hostname, port });
    const conn = await Promise.race([connecting, sleep(this.#settings.timeoutMs)]);
    if (conn) return conn;
    // A connection that completes after the deadline is closed when it does.
    void connecting.then((late) => late.close(), () => {});
    return undefined;
  }

  async #readAnswers(client: Client, conn: Deno.TcpConn): Promise<void> {
    const reader = new FrameReader();
    const buffer = new Uint8Array(16 * 1024);
    while (!client.closed) {
      const count = await conn.read(buffer);
      if (count === null) return;
      for (const answer of reader.push(buffer.subarray(0, count))) {
        const i = client.waiting.findIndex((w) => answers(answer, w.query, w.questionEnd));
        if (i < 0) continue;
        client.waiting.splice(i, 1);
        this.#stats.answered++;
        client.out.push(frame(answer));
      }
    }
  }

  #sleepUntilWoken(client: Client): Promise<void> {
    return new Promise((resolve) => client.wake = resolve);
  }

  #wake(client: Client): void {
    const wake = client.wake;
    client.wake = undefined;
    wake?.();
  }

  #drop(client: Client): void {
    if (client.closed) return;
    client.closed = true;
    this.#clients.delete(client);
    closeQuietly(client.conn);
    const link = client.link;
    if (link?.outbox) closeQuietly(link.outbox.conn);
    client.backlog.length = 0;
    this.#wake(client);
  }
}
