import assert from "node:assert/strict";
import {
  kernelProbe,
  loadProbe,
  loadStartProbe,
  type ProbeRequest,
  type ProbeResult,
  rehearseProbe,
  UDP_RESEND_MS,
} from "./probe.ts";
import { type Kernel, sockaddrIn } from "./sockets.ts";

/** Starts test/testdata/dns_responder.ts (see there for `args`). */
function spawnResponder(mode: "answer" | "silent" | "drop-first", ...args: string[]) {
  const script = new URL("../../test/testdata/dns_responder.ts", import.meta.url).pathname;
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, mode, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** Starts test/testdata/dns_responder.ts; returns its port and a stop function. */
async function responder(mode: "answer" | "silent" | "drop-first") {
  const child = spawnResponder(mode);
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the responder exited before it was ready");
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return {
    port: Number(text.trim()),
    async stop() {
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel();
    },
  };
}

/** A loopback port nothing listens on: one just used by a responder that is gone. */
async function closedPort(): Promise<number> {
  const server = await responder("silent");
  await server.stop();
  return server.port;
}

const probe = loadProbe()!;

/** A probe of `node.test` over both transports from a loopback server at `port`. */
function loopback(port: number, timeoutMs: number): ProbeRequest {
  return { server: "127.0.0.1", port, name: "node.test", transports: ["UDP", "TCP"], timeoutMs };
}

/** transport, answered and error of each result, in order. */
function outcomes(results: ProbeResult[]) {
  return results.map((r) => [r.transport, r.answered, r.error]);
}

Deno.test("sockaddrIn() lays out family, port and address as struct sockaddr_in", () => {
  assert.deepEqual([...sockaddrIn("172.18.0.1", 53)], [
    2,
    0,
    0,
    53,
    172,
    18,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  assert.throws(() => sockaddrIn("172.18.0", 53), /not an IPv4 address/);
});

Deno.test("the probe gets the answer over UDP and TCP, skipping a stray datagram", async () => {
  const server = await responder("answer");
  try {
    const results = probe(loopback(server.port, 2000));
    assert.deepEqual(outcomes(results), [
      ["UDP", true, undefined],
      ["TCP", true, undefined],
    ]);
    for (const result of results) {
      assert.deepEqual(result.response!.answers, [
        { name: "node.test.", type: 1, ttl: 60, data: "10.1.2.3" },
      ]);
    }
  } finally {
    await server.stop();
  }
});

Deno.test("the probe reports a closed port as connection refused, at once", async () => {
  const port = await closedPort();
  // A time limit far above the bound leaves a loaded machine room: only waiting for the limit fails.
  const results = probe(loopback(port, 10_000));
  assert.deepEqual(outcomes(results), [
    ["UDP", false, "connection refused"],
    ["TCP", false, "connection refused"],
  ]);
  for (const result of results) assert.ok(result.ms < 5000, `${result.ms} ms`);
});

Deno.test("an unanswered UDP query is sent again, and the answer to the copy counts", async () => {
  const server = await responder("drop-first");
  try {
    const results = probe({ ...loopback(server.port, 10_000), transports: ["UDP"] });
    assert.deepEqual(outcomes(results), [["UDP", true, undefined]]);
    assert.ok(
      results[0].ms >= UDP_RESEND_MS,
      `answered after ${results[0].ms} ms, before a copy was sent`,
    );
    assert.ok(results[0].ms < 5000, `answered after ${results[0].ms} ms`);
  } finally {
    await server.stop();
  }
});

Deno.test("retryRefused: a refused UDP query is asked again until the server listens", async () => {
  const port = await closedPort();
  // Listens 1000 ms after its start, which itself takes a while: the first queries are refused, and
  // the answer comes at least 300 ms after the probe's start even if this process stalls for 700 ms
  // between the spawn and the probe.
  const late = spawnResponder("answer", String(port), "1000");
  try {
    const results = probe({ ...loopback(port, 10_000), transports: ["UDP"], retryRefused: true });
    assert.deepEqual(outcomes(results), [["UDP", true, undefined]]);
    assert.ok(
      results[0].ms >= 300,
      `answered after ${results[0].ms} ms, before the server listened`,
    );
  } finally {
    late.kill("SIGKILL");
    await late.status;
    await late.stdout.cancel();
  }
});

Deno.test("retryRefused: a port nothing opens is still refused when the time is up", async () => {
  const port = await closedPort();
  const results = probe({ ...loopback(port, 1000), retryRefused: true });
  // TCP is never asked again: a refused connection is the server's answer, long before the limit.
  assert.deepEqual(outcomes(results), [
    ["UDP", false, "connection refused"],
    ["TCP", false, "connection refused"],
  ]);
  assert.ok(results[0].ms >= 1000, `UDP gave up after ${results[0].ms} ms`);
  assert.ok(results[1].ms < 1000, `TCP took ${results[1].ms} ms`);
});

Deno.test("the probe gives up on a silent server when its time is up, both transports at once", async () => {
  const server = await responder("silent");
  try {
    const start = performance.now();
    const results = probe(loopback(server.port, 1000));
    const elapsed = performance.now() - start;
    assert.deepEqual(outcomes(results), [
      ["UDP", false, "no answer within 1000 ms"],
      ["TCP", false, "no answer within 1000 ms"],
    ]);
    // one after the other would take 2000 ms; the rest is room for a loaded machine
    assert.ok(elapsed >= 999 && elapsed < 2000, `${elapsed} ms`);
  } finally {
    await server.stop();
  }
});

Deno.test("an answer that came while the caller was busy past the bound still counts", async () => {
  const server = await responder("answer");
  try {
    const inFlight = loadStartProbe()!(loopback(server.port, 100));
    // The boot goes on with other steps after sending; the bound is on finish()'s own wait. The
    // thread blocks (as a step that waits for a program) long enough for a responder on a loaded
    // machine to have answered.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
    const results = inFlight.finish();
    assert.deepEqual(outcomes(results), [
      ["UDP", true, undefined],
      ["TCP", true, undefined],
    ]);
  } finally {
    await server.stop();
  }
});

Deno.test("rehearseProbe() runs the probe's code without connecting or sending anything", () => {
  const calls: string[] = [];
  const kernel: Kernel = {
    socket: (type) => {
      calls.push(`socket ${type}`);
      return 100 + calls.length;
    },
    connect: () => {
      throw new Error("connect must not be called");
    },
    send: () => {
      throw new Error("send must not be called");
    },
    recv: () => -1,
    poll: (_fds, count, ms) => {
      calls.push(`poll ${count} ${ms}`);
      return 0;
    },
    socketError: () => 0,
    open: () => -1,
    setns: () => -1,
    close: (fd) => {
      calls.push(`close ${fd}`);
      return 0;
    },
    errno: () => 11,
  };
  rehearseProbe(kernel);
  // One poll when the queries would go out, one last poll that does not wait in finish().
  assert.deepEqual(calls, [
    "socket 2",
    "socket 1",
    "poll 2 0",
    "poll 2 0",
    "close 101",
    "close 102",
  ]);
});

/** A kernel whose calls succeed and do nothing, but for `calls`. */
function quietKernel(calls: Partial<Kernel>): Kernel {
  return {
    socket: () => 3,
    connect: () => 0,
    send: () => 0,
    recv: () => -1,
    poll: () => 0,
    socketError: () => 0,
    open: () => -1,
    setns: () => -1,
    close: () => 0,
    errno: () => 0,
    ...calls,
  };
}

Deno.test("rehearseProbe() returns a failure of the probe's code rather than throw it (it runs in a timer)", () => {
  const kernel = quietKernel({
    socket: () => {
      throw new Error("socket broke");
    },
  });
  let failure: Error | undefined;
  assert.doesNotThrow(() => {
    failure = rehearseProbe(kernel);
  });
  assert.equal(failure?.message, "socket broke");
  // Through a prober: the rehearsal is quiet, the probe started after it says what broke.
  const start = kernelProbe(kernel);
  assert.doesNotThrow(() => start.rehearse!());
  assert.throws(
    () => start(loopback(53, 10)),
    /^Error: its rehearsal failed: socket broke$/,
  );
});

Deno.test("the probe words an errno from the one errno table (lib/errors.ts), such as EMFILE", () => {
  const kernel = quietKernel({ socket: () => -1, errno: () => 24 });
  const results = kernelProbe(kernel)(loopback(53, 0)).finish();
  assert.deepEqual(outcomes(results), [
    ["UDP", false, "cannot open a socket: too many open files"],
    ["TCP", false, "cannot open a socket: too many open files"],
  ]);
});

Deno.test("a socket call that throws (another namespace's) closes the sockets already made", () => {
  const closed: number[] = [];
  let made = 0;
  const kernel = quietKernel({
    socket: () => {
      if (made++ === 0) return 5;
      throw new Error("Cannot enter the network namespace /run/netns/pod: operation not permitted");
    },
    close: (fd) => {
      closed.push(fd);
      return 0;
    },
  });
  assert.throws(() => kernelProbe(kernel)(loopback(53, 10)), /Cannot enter the network namespace/);
  assert.deepEqual(closed, [5]);
});
