/** Small socket helpers the relay's UDP and TCP halves share. */

/** What a relay has done. */
export interface RelayStats {
  udpQueries: number;
  tcpQueries: number;
  answered: number;
  servfails: number;
  dropped: number;
  /** TCP connections closed by the relay: idle, a message too slow, evicted or refused. */
  tcpClosed: number;
  /** Socket operations that failed (out of descriptors, unreachable) and were answered or dropped. */
  socketErrors: number;
}

/** Fresh counters. */
export function newStats(): RelayStats {
  return {
    udpQueries: 0,
    tcpQueries: 0,
    answered: 0,
    servfails: 0,
    dropped: 0,
    tcpClosed: 0,
    socketErrors: 0,
  };
}

/** Closes a socket that may already be closed. */
export function closeQuietly(closable: { close(): void } | undefined): void {
  try {
    closable?.close();
  } catch {
    // Already closed.
  }
}

/** Writes all of `bytes`; throws when the connection fails. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += await conn.write(bytes.subarray(offset));
  }
}

/** A promise that resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether two address literals name the same address (IPv4-mapped IPv6 counts as the IPv4). */
export function sameAddress(a: string, b: string): boolean {
  const plain = (address: string) => address.toLowerCase().replace(/^::ffff:(?=\d+\.)/, "");
  return plain(a) === plain(b);
}
