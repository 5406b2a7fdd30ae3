/**
 * A fake upstream nameserver for the relay's tests and benchmark: UDP and TCP on one loopback
 * port, answering by the first label of the question's name:
 * - `big`: over UDP a truncated answer (TC set, no records), over TCP `BIG_RECORDS` A records;
 * - `silent`: never answers;
 * - `held`: answered only once `hold` of them are waiting, then all at once in reverse order
 *   (to prove that the relay keeps many queries in flight);
 * - anything else: one A record, 192.0.2.1.
 * Every query it receives is kept (`received`, unless `record` is false), so a test can check
 * that it arrived unchanged.
 * Run as a program, it prints its port and answers until killed.
 */

/** How many records `big` has over TCP: far more than fits in 512 bytes. */
export const BIG_RECORDS = 100;

/** A running fake upstream. */
export interface FakeUpstream {
  port: number;
  /** Queries received, as sent, with the transport they came over. */
  received: { transport: "udp" | "tcp"; query: Uint8Array }[];
  /** Answers sent over UDP and TCP, as sent. */
  sent: Uint8Array[];
  /** TCP connections accepted since the start. */
  readonly tcpAccepted: number;
  close(): Promise<void>;
}

/** The first label of a query's question name, lower case. */
export function firstLabel(query: Uint8Array): string {
  const length = query[12] ?? 0;
  return new TextDecoder().decode(query.subarray(13, 13 + length)).toLowerCase();
}

/** An answer to `query` (its ID and question) with `count` A records and the given TC bit. */
export function answerWith(
  query: Uint8Array,
  options: { count: number; truncated?: boolean },
): Uint8Array {
  let end = 12;
  while (query[end] !== 0) end += query[end] + 1;
  end += 5;
  const out = new Uint8Array(end + 16 * options.count);
  out.set(query.subarray(0, end));
  out[2] = 0x84 | (options.truncated ? 0x02 : 0) | (query[2] & 0x01); // QR, AA, TC, RD
  out[3] = 0x80; // RA, NOERROR
  out[6] = options.count >> 8;
  out[7] = options.count & 0xff;
  out.fill(0, 8, 12);
  for (let i = 0; i < options.count; i++) {
    out.set([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2 + (i >> 8), 1 + (i & 0xff)], end);
    end += 16;
  }
  return out;
}

/** Starts the fake upstream on 127.0.0.1 (UDP and TCP on the same free port). */
export function startFakeUpstream(
  options: { hold?: number; record?: boolean } = {},
): FakeUpstream {
  const hold = options.hold ?? 0;
  const record = options.record ?? true;
  const received: FakeUpstream["received"] = [];
  const sent: Uint8Array[] = [];
  let udp: Deno.DatagramConn | undefined;
  let tcp: Deno.Listener | undefined;
  for (let attempt = 0; !tcp; attempt++) {
    udp = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    try {
      tcp = Deno.listen({ hostname: "127.0.0.1", port: (udp.addr as Deno.NetAddr).port });
    } catch (error) {
      udp.close();
      if (attempt > 20) throw error;
    }
  }
  const udpSocket = udp!;
  const tcpListener = tcp;
  const held: { query: Uint8Array; to: Deno.Addr }[] = [];
  const conns = new Set<Deno.Conn>();
  let closed = false;
  let accepted = 0;

  const answer = (query: Uint8Array, transport: "udp" | "tcp"): Uint8Array | undefined => {
    const label = firstLabel(query);
    if (label === "silent") return undefined;
    if (label === "big") {
      return transport === "udp"
        ? answerWith(query, { count: 0, truncated: true })
        : answerWith(query, { count: BIG_RECORDS });
    }
    return answerWith(query, { count: 1 });
  };

  const serveUdp = async () => {
    const buffer = new Uint8Array(65535);
    while (!closed) {
      let message: Uint8Array, from: Deno.Addr;
      try {
        [message, from] = await udpSocket.receive(buffer);
      } catch {
        return;
      }
      const query = message.slice();
      if (record) received.push({ transport: "udp", query });
      if (firstLabel(query) === "held") {
        held.push({ query, to: from });
        if (held.length < hold) continue;
        for (const { query, to } of held.splice(0).reverse()) {
          const reply = answerWith(query, { count: 1 });
          if (record) sent.push(reply);
          await udpSocket.send(reply, to);
        }
        continue;
      }
      const reply = answer(query, "udp");
      if (!reply) continue;
      if (record) sent.push(reply);
      await udpSocket.send(reply, from).catch(() => {});
    }
  };

  const serveConn = async (conn: Deno.Conn) => {
    let buffered = new Uint8Array(0);
    const chunk = new Uint8Array(65537);
    try {
      for (;;) {
        const count = await conn.read(chunk);
        if (count === null) return;
        const joined = new Uint8Array(buffered.length + count);
        joined.set(buffered);
        joined.set(chunk.subarray(0, count), buffered.length);
        buffered = joined;
        while (buffered.length >= 2 && buffered.length >= 2 + ((buffered[0] << 8) | buffered[1])) {
          const length = (buffered[0] << 8) | buffered[1];
          const query = buffered.slice(2, 2 + length);
          buffered = buffered.slice(2 + length);
          if (record) received.push({ transport: "tcp", query });
          const reply = answer(query, "tcp");
          if (!reply) continue;
          if (record) sent.push(reply);
          const framed = new Uint8Array(reply.length + 2);
          framed.set([reply.length >> 8, reply.length & 0xff]);
          framed.set(reply, 2);
          for (let offset = 0; offset < framed.length;) {
            offset += await conn.write(framed.subarray(offset));
          }
        }
      }
    } catch {
      // Closed by the relay or by close().
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  };

  const serveTcp = async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await tcpListener.accept();
      } catch {
        return;
      }
      conns.add(conn);
      accepted++;
      void serveConn(conn);
    }
  };

  const tasks = [serveUdp(), serveTcp()];
  return {
    port: (udpSocket.addr as Deno.NetAddr).port,
    received,
    sent,
    get tcpAccepted() {
      return accepted;
    },
    async close() {
      closed = true;
      udpSocket.close();
      tcpListener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      await Promise.allSettled(tasks);
    },
  };
}

// As a program (the e2e tier runs it inside a node, the benchmark beside the relay): starts the
// fake upstream on 127.0.0.1 and prints its port; runs until killed.
if (import.meta.main) {
  const upstream = startFakeUpstream({ record: false });
  console.log(upstream.port);
}
