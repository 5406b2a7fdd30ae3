/**
 * The relay for real on loopback: it listens on ::1 and forwards to a fake upstream on 127.0.0.1
 * (test/support/fake_upstream.ts), as a node's relay listens on IPv6 and forwards to Docker's IPv4 host.
 */
import assert from "node:assert/strict";
import { buildQuery, parseResponse } from "../message.ts";
import { frame, FrameReader, messageId } from "./message.ts";
import { type Relay, type RelayOptions, startRelay } from "./server.ts";
import {
  BIG_RECORDS,
  type FakeUpstream,
  startFakeUpstream,
} from "../../../test/support/fake_upstream.ts";

/** How long a test waits for an answer before it calls it lost (a bound, not a timing). */
const WAIT_MS = 5000;

async function withRelay(
  test: (relay: Relay, upstream: FakeUpstream) => Promise<void>,
  options: { hold?: number; relay?: Partial<RelayOptions> } = {},
) {
  const upstream = startFakeUpstream({ hold: options.hold });
  const relay = startRelay({
    listen: "::1",
    port: 0,
    upstream: "127.0.0.1",
    upstreamPort: upstream.port,
    ...options.relay,
  });
  try {
    await test(relay, upstream);
  } finally {
    await relay.close();
    await upstream.close();
  }
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${WAIT_MS} ms`)), WAIT_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A UDP client on ::1 that sends datagrams to the relay and collects what comes back. */
function udpClient(relay: Relay) {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const to: Deno.NetAddr = { transport: "udp", hostname: "::1", port: relay.port };
  return {
    send: (message: Uint8Array) => socket.send(message, to),
    async receive(): Promise<Uint8Array> {
      const [data] = await within(socket.receive(), "UDP answer");
      return data;
    },
    close: () => socket.close(),
  };
}

/** Sends each query framed on one TCP connection, then reads `count` answers. */
async function overTcp(relay: Relay, queries: Uint8Array[], count = queries.length) {
  const conn = await Deno.connect({ hostname: "::1", port: relay.port });
  try {
    for (const query of queries) await conn.write(frame(query));
    const reader = new FrameReader();
    const answers: Uint8Array[] = [];
    const buffer = new Uint8Array(65537);
    while (answers.length < count) {
      const n = await within(conn.read(buffer), "TCP answer");
      if (n === null) break;
      answers.push(...reader.push(buffer.subarray(0, n)));
    }
    return answers;
  } finally {
    conn.close();
  }
}

Deno.test("the relay forwards a UDP query unchanged and returns the answer unchanged", async () => {
  await withRelay(async (relay, upstream) => {
    const client = udpClient(relay);
    try {
      const query = buildQuery("kind-worker", 0x4242);
      await client.send(query);
      const answer = await client.receive();
      assert.deepEqual(upstream.received, [{ transport: "udp", query }]);
      assert.deepEqual(answer, upstream.sent[0]);
      assert.equal(messageId(answer), 0x4242);
      assert.deepEqual(parseResponse(answer).answers.map((r) => r.data), ["192.0.2.1"]);
    } finally {
      client.close();
    }
  });
});

Deno.test("the relay forwards a TCP query unchanged and returns the answer unchanged", async () => {
  await withRelay(async (relay, upstream) => {
    const query = buildQuery("kind-worker", 0x0707);
    const [answer] = await overTcp(relay, [query]);
    assert.deepEqual(upstream.received, [{ transport: "tcp", query }]);
    assert.deepEqual(answer, upstream.sent[0]);
  });
});

Deno.test("the relay passes a truncated UDP answer through, and TCP gets it whole", async () => {
  await withRelay(async (relay) => {
    const client = udpClient(relay);
    try {
      const query = buildQuery("big.test", 0x1001);
      await client.send(query);
      const truncated = parseResponse(await client.receive());
      assert.equal(truncated.truncated, true);
      assert.equal(truncated.answers.length, 0);
      const [whole] = await overTcp(relay, [query]);
      const response = parseResponse(whole);
      assert.equal(response.truncated, false);
      assert.equal(response.answers.length, BIG_RECORDS);
      assert.ok(whole.length > 512, `${whole.length} bytes`);
    } finally {
      client.close();
    }
  });
});

Deno.test("the relay keeps many UDP queries in flight, also with the same ID", async () => {
  // The fake upstream answers `held` queries only once all of them are waiting: a relay that
  // waited for one answer before forwarding the next query would never get any.
  const clients = 4;
  const perClient = 25;
  await withRelay(async (relay, upstream) => {
    const sockets = Array.from({ length: clients }, () => udpClient(relay));
    try {
      // Every client uses the same IDs 1..perClient, so each ID is in flight four times.
      for (const socket of sockets) {
        for (let id = 1; id <= perClient; id++) await socket.send(buildQuery("held.test", id));
      }
      for (const socket of sockets) {
        const ids: number[] = [];
        for (let i = 0; i < perClient; i++) ids.push(messageId(await socket.receive()));
        assert.deepEqual(
          ids.sort((a, b) => a - b),
          Array.from({ length: perClient }, (_, i) => i + 1),
        );
      }
      assert.equal(upstream.received.length, clients * perClient);
      assert.equal(relay.stats.answered, clients * perClient);
    } finally {
      for (const socket of sockets) socket.close();
    }
  }, { hold: clients * perClient });
});

Deno.test("the relay answers SERVFAIL when the upstream does not answer in time", async () => {
  await withRelay(async (relay) => {
    const client = udpClient(relay);
    try {
      await client.send(buildQuery("silent.test", 0x5150));
      const answer = parseResponse(await client.receive());
      assert.equal(answer.id, 0x5150);
      assert.equal(answer.rcode, 2, "SERVFAIL");
      const [overTcpAnswer] = await overTcp(relay, [buildQuery("silent.test", 0x5151)]);
      assert.equal(parseResponse(overTcpAnswer).rcode, 2, "SERVFAIL");
      assert.equal(relay.stats.servfails, 2);
    } finally {
      client.close();
    }
  }, { relay: { timeoutMs: 100 } });
});

Deno.test("the relay answers SERVFAIL when nothing listens upstream", async () => {
  // A port nothing listens on: taken and given back.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const relay = startRelay({ listen: "::1", port: 0, upstream: "127.0.0.1", upstreamPort: port });
  try {
    const [answer] = await overTcp(relay, [buildQuery("kind-worker", 9)]);
    assert.equal(parseResponse(answer).rcode, 2, "SERVFAIL");
  } finally {
    await relay.close();
  }
});

Deno.test("the relay survives malformed queries and answers the next one", async () => {
  await withRelay(async (relay, upstream) => {
    const client = udpClient(relay);
    try {
      await client.send(new Uint8Array([1, 2, 3])); // dropped: not even a header
      const response = buildQuery("kind-worker", 0x2222);
      response[2] |= 0x80;
      await client.send(response); // dropped: a response, not a query
      const cut = buildQuery("kind-worker", 0x3333).subarray(0, 20);
      await client.send(cut); // answered SERVFAIL: no complete question
      const servfail = await client.receive();
      assert.equal(messageId(servfail), 0x3333);
      assert.equal(servfail[3] & 0x0f, 2);
      await client.send(buildQuery("kind-worker", 0x4444));
      assert.equal(messageId(await client.receive()), 0x4444);
      // Over TCP: a cut query, then a good one, on one connection.
      const answers = await overTcp(relay, [cut, buildQuery("kind-worker", 0x5555)]);
      assert.deepEqual(answers.map(messageId).sort(), [0x3333, 0x5555]);
      assert.equal(upstream.received.length, 2, "only the good queries reach the upstream");
    } finally {
      client.close();
    }
  });
});

Deno.test("the relay answers pipelined TCP queries on one connection", async () => {
  await withRelay(async (relay) => {
    const queries = Array.from({ length: 10 }, (_, i) => buildQuery(`n${i}.test`, 100 + i));
    const answers = await overTcp(relay, queries);
    assert.deepEqual(answers.map(messageId).sort((a, b) => a - b), queries.map(messageId));
  });
});

Deno.test("the relay refuses to start on an address this machine does not have", () => {
  assert.throws(() => startRelay({ listen: "2001:db8::53", port: 0, upstream: "127.0.0.1" }));
});

/** Resolves when the relay closes `conn` (a read ends or fails), or rejects after `ms`. */
async function closedWithin(conn: Deno.Conn, ms: number): Promise<number> {
  const started = Date.now();
  const buffer = new Uint8Array(4096);
  const end = started + ms;
  while (Date.now() < end) {
    const read = await Promise.race([
      conn.read(buffer).catch(() => null),
      new Promise<"late">((resolve) => setTimeout(() => resolve("late"), end - Date.now())),
    ]);
    if (read === null) return Date.now() - started;
    if (read === "late") break;
  }
  throw new Error(`the relay kept the connection open for ${ms} ms`);
}

/** Sends `bytes` one at a time, `everyMs` apart, until they are all sent or the connection fails. */
async function trickle(conn: Deno.Conn, bytes: Uint8Array, everyMs: number) {
  for (const byte of bytes) {
    try {
      await conn.write(new Uint8Array([byte]));
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

Deno.test("the relay closes a TCP connection that sends bytes but no whole message for the idle bound", async () => {
  await withRelay(async (relay) => {
    const conn = await Deno.connect({ hostname: "::1", port: relay.port });
    try {
      const trickling = trickle(conn, frame(buildQuery("kind-worker", 1)), 100);
      const ms = await closedWithin(conn, 1500);
      assert.ok(ms >= 250, `closed after ${ms} ms, before the idle bound`);
      await trickling;
    } finally {
      conn.close();
    }
  }, { relay: { tcp: { idleMs: 300, messageMs: 60_000 } } });
});

Deno.test("the relay closes a TCP connection whose message is not whole in time", async () => {
  await withRelay(async (relay) => {
    const conn = await Deno.connect({ hostname: "::1", port: relay.port });
    try {
      await conn.write(frame(buildQuery("kind-worker", 2)).subarray(0, 7));
      await closedWithin(conn, 1500);
    } finally {
      conn.close();
    }
  }, { relay: { tcp: { idleMs: 60_000, messageMs: 300 } } });
});

Deno.test("whole messages keep a TCP connection open past the idle bound", async () => {
  await withRelay(async (relay) => {
    const conn = await Deno.connect({ hostname: "::1", port: relay.port });
    try {
      const reader = new FrameReader();
      const buffer = new Uint8Array(4096);
      for (let i = 0; i < 8; i++) {
        await conn.write(frame(buildQuery("kind-worker", 10 + i)));
        let answer: Uint8Array | undefined;
        while (!answer) {
          const n = await within(conn.read(buffer), "TCP answer");
          assert.notEqual(n, null, `closed before query ${i}`);
          [answer] = reader.push(buffer.subarray(0, n!));
        }
        assert.equal(messageId(answer), 10 + i);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    } finally {
      conn.close();
    }
  }, { relay: { tcp: { idleMs: 400 } } });
});

Deno.test("with every TCP slot taken, a new client evicts the idlest connection", async () => {
  await withRelay(async (relay) => {
    const idle: Deno.Conn[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        idle.push(await Deno.connect({ hostname: "::1", port: relay.port }));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      const [answer] = await overTcp(relay, [buildQuery("kind-worker", 0x0e0e)]);
      assert.equal(messageId(answer), 0x0e0e);
      await closedWithin(idle[0], 1000);
      assert.ok(relay.tcpConnections <= 3, `${relay.tcpConnections} connections`);
    } finally {
      for (const conn of idle) conn.close();
    }
  }, { relay: { tcp: { maxConnections: 3 } } });
});

Deno.test("TCP connections with queries in flight are capped, and upstream connections with them", async () => {
  await withRelay(async (relay, upstream) => {
    const busy: Deno.Conn[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const conn = await Deno.connect({ hostname: "::1", port: relay.port });
        busy.push(conn);
        await conn.write(frame(buildQuery("silent.test", i))).catch(() => 0);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.ok(relay.tcpConnections <= 3, `${relay.tcpConnections} client connections`);
      assert.ok(upstream.tcpAccepted <= 3, `${upstream.tcpAccepted} upstream connections`);
      await closedWithin(busy[5], 1000);
    } finally {
      for (const conn of busy) conn.close();
    }
  }, { relay: { timeoutMs: 60_000, tcp: { maxConnections: 3 } } });
});

Deno.test("the relay forwards no more of one TCP client's queries than its bound in flight", async () => {
  await withRelay(async (relay, upstream) => {
    const conn = await Deno.connect({ hostname: "::1", port: relay.port });
    try {
      for (let i = 0; i < 10; i++) await conn.write(frame(buildQuery("silent.test", i)));
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(upstream.received.length, 4);
    } finally {
      conn.close();
    }
  }, { relay: { timeoutMs: 60_000, tcp: { maxInFlight: 4 } } });
});

Deno.test("one TCP client's pipelined queries share one upstream connection", async () => {
  await withRelay(async (relay, upstream) => {
    const queries = Array.from({ length: 20 }, (_, i) => buildQuery(`n${i}.test`, 200 + i));
    const answers = await overTcp(relay, queries);
    assert.deepEqual(answers.map(messageId).sort((a, b) => a - b), queries.map(messageId));
    assert.equal(upstream.tcpAccepted, 1);
  });
});
