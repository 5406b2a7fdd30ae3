/**
 * The DNS relay: a forwarder on one address, UDP and TCP, that sends each query unchanged to one
 * upstream nameserver and each answer back unchanged (same ID, TC bit and all, so a client told to
 * retry over TCP does, and gets the whole answer there). It exists for IPv6-only pods on Docker:
 * Docker's resolver answers on 127.0.0.11 only, and the node's IPv4 host address that kind points
 * resolv.conf at is unreachable from a pod without IPv4 (see docs/ipv6.md).
 *
 * Deno's own APIs only (no Node.js compatibility layer): `Deno.listenDatagram` (needs
 * `--unstable-net`) with one receive buffer per socket, reused for every datagram;
 * `Deno.listen`/`Deno.connect` for TCP. The UDP half (udp.ts) and the TCP half (tcp.ts) share one
 * sweep that enforces every deadline. Every wait on the upstream is bounded; a query without an
 * answer in time is answered SERVFAIL, a malformed one SERVFAIL or dropped (message.ts); what a
 * client can hold is bounded (tcp.ts); a socket error is counted and answered, never thrown.
 */
import { newStats, type RelayStats } from "./sockets.ts";
import {
  MAX_TCP_CONNECTIONS,
  MAX_TCP_IN_FLIGHT,
  TCP_IDLE_TIMEOUT_MS,
  TCP_MESSAGE_TIMEOUT_MS,
  TcpHalf,
} from "./tcp.ts";
import { UdpHalf } from "./udp.ts";

export type { RelayStats } from "./sockets.ts";

/** How long the upstream may take to answer a query before the client gets SERVFAIL. */
export const DEFAULT_UPSTREAM_TIMEOUT_MS = 2000;

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
  /**
   * The address upstream UDP sockets are bound to: the node's own on the way to the upstream
   * (see `sourceAddress`). Without it, the wildcard of the upstream's family.
   */
  source?: string;
  /** See `DEFAULT_UPSTREAM_TIMEOUT_MS`. */
  timeoutMs?: number;
  /** The TCP half's bounds, for tests: see lib/dns/relay/tcp.ts. */
  tcp?: Partial<{ maxConnections: number; maxInFlight: number; idleMs: number; messageMs: number }>;
}

/** A running relay. */
export interface Relay {
  /** The port it listens on (UDP and TCP). */
  readonly port: number;
  /** Counters since the start, for tests and the benchmark. */
  readonly stats: RelayStats;
  /** Client TCP connections open now. */
  readonly tcpConnections: number;
  /** Stops listening, drops what is in flight and closes every socket. */
  close(): Promise<void>;
}

/** Starts a relay; throws when it cannot listen (address not on this machine, port taken). */
export function startRelay(options: RelayOptions): Relay {
  const timeoutMs = options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
  const upstream = options.upstream;
  const stats = newStats();
  // With port 0 the UDP port is free but the same TCP port may not be: try a few UDP ports.
  for (let attempt = 1;; attempt++) {
    const udp = new UdpHalf({
      listen: options.listen,
      port: options.port ?? 53,
      upstream: { transport: "udp", hostname: upstream, port: options.upstreamPort ?? 53 },
      source: options.source ?? (upstream.includes(":") ? "::" : "0.0.0.0"),
      timeoutMs,
    }, stats);
    try {
      return serve(udp, startTcpHalf(options, udp.port, stats), options, stats);
    } catch (error) {
      void udp.close();
      if (options.port !== 0 || !(error instanceof Deno.errors.AddrInUse) || attempt >= 10) {
        throw error;
      }
    }
  }
}

function startTcpHalf(options: RelayOptions, port: number, stats: RelayStats): TcpHalf {
  return new TcpHalf({
    listen: options.listen,
    port,
    upstream: { transport: "tcp", hostname: options.upstream, port: options.upstreamPort ?? 53 },
    timeoutMs: options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS,
    maxConnections: options.tcp?.maxConnections ?? MAX_TCP_CONNECTIONS,
    maxInFlight: options.tcp?.maxInFlight ?? MAX_TCP_IN_FLIGHT,
    idleMs: options.tcp?.idleMs ?? TCP_IDLE_TIMEOUT_MS,
    messageMs: options.tcp?.messageMs ?? TCP_MESSAGE_TIMEOUT_MS,
  }, stats);
}

// Runs both halves and the one sweep that enforces their deadlines.
function serve(udp: UdpHalf, tcp: TcpHalf, options: RelayOptions, stats: RelayStats): Relay {
  const timeoutMs = options.timeoutMs ?? DEFAULT_UPSTREAM_TIMEOUT_MS;
  const shortest = Math.min(timeoutMs, options.tcp?.messageMs ?? TCP_MESSAGE_TIMEOUT_MS);
  const sweep = setInterval(() => {
    const now = Date.now();
    udp.sweep(now);
    tcp.sweep(now);
  }, Math.max(5, Math.min(250, Math.floor(shortest / 4))));
  udp.start();
  tcp.start();
  let closed = false;
  return {
    port: udp.port,
    stats,
    get tcpConnections() {
      return tcp.connections;
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweep);
      await Promise.all([udp.close(), tcp.close()]);
    },
  };
}
