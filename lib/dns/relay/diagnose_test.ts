import assert from "node:assert/strict";
import { FakeHost } from "../../host/fake.ts";
import type { ProbeResult } from "../probe.ts";
import { loadProbe } from "../probe.ts";
import {
  hasSocket,
  judgeRelay,
  parseEnvFile,
  procNetAddress,
  readRelayView,
  relayLine,
  type RelayView,
} from "./diagnose.ts";
import { DENO } from "../../../test/support/bundle.ts";
import { startRelayProcess } from "../../../test/support/relay_process.ts";
import { RELAY_ENV_FILE, renderRelayEnv } from "./node.ts";

const IPV6 = "fd00:53::2";

Deno.test("parseEnvFile() reads KEY=value lines and skips comments", () => {
  assert.deepEqual(parseEnvFile(renderRelayEnv({ listen: IPV6, upstream: "172.31.53.1" })), {
    KIND_DNS_RELAY_LISTEN: IPV6,
    KIND_DNS_RELAY_UPSTREAM: "172.31.53.1",
  });
});

Deno.test("procNetAddress() writes an address as /proc/net/udp6 does", () => {
  assert.equal(procNetAddress("::1", 53), "00000000000000000000000001000000:0035");
  assert.equal(procNetAddress(IPV6, 53), "530000FD000000000000000002000000:0035");
  assert.equal(procNetAddress("172.31.53.1", 53), undefined);
});

Deno.test("hasSocket() finds this process's own UDP and TCP sockets on ::1", () => {
  const udp = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const port = (udp.addr as Deno.NetAddr).port;
  const tcp = Deno.listen({ hostname: "::1", port });
  try {
    const local = procNetAddress("::1", port)!;
    assert.equal(hasSocket(Deno.readTextFileSync("/proc/net/udp6"), local, "07"), true);
    assert.equal(hasSocket(Deno.readTextFileSync("/proc/net/tcp6"), local, "0A"), true);
    assert.equal(
      hasSocket(Deno.readTextFileSync("/proc/net/udp6"), procNetAddress("::1", 9)!, "07"),
      false,
    );
  } finally {
    udp.close();
    tcp.close();
  }
});

Deno.test("readRelayView() reports the settings, resolv.conf and the sockets", () => {
  const local = procNetAddress(IPV6, 53);
  const header =
    "  sl  local_address                         rem_address                       st\n";
  const host = new FakeHost({
    files: {
      [RELAY_ENV_FILE]: renderRelayEnv({ listen: IPV6, upstream: "172.31.53.1" }),
      "/proc/net/udp6": `${header}  12: ${local} 00000000000000000000000000000000:0000 07 0\n`,
      "/proc/net/tcp6": header,
    },
  });
  const view = readRelayView(host, `nameserver 172.31.53.1\nnameserver ${IPV6}\n`);
  assert.deepEqual(view, {
    listen: IPV6,
    upstream: "172.31.53.1",
    inResolvConf: true,
    udp: true,
    tcp: false,
  });
  assert.equal(
    relayLine(view!),
    `DNS relay (IPv6 pods): [${IPV6}]:53 -> 172.31.53.1:53; in resolv.conf: yes; listening: UDP yes, TCP no`,
  );
});

Deno.test("readRelayView() says nothing on a node without relay settings", () => {
  assert.equal(readRelayView(new FakeHost({}), "nameserver 172.18.0.1\n"), undefined);
});

const VIEW: RelayView = {
  listen: IPV6,
  upstream: "172.31.53.1",
  inResolvConf: true,
  udp: true,
  tcp: true,
};
const ANSWERED = (transport: "UDP" | "TCP"): ProbeResult => ({
  transport,
  answered: true,
  ms: 0.8,
});
const REFUSED = (transport: "UDP" | "TCP"): ProbeResult => ({
  transport,
  answered: false,
  ms: 0.1,
  error: "connection refused",
});
const PASSED = { verdict: "OK: pods and the node get answers", status: 0 as const };

Deno.test("judgeRelay() fails a passing verdict when an IPv6-only pod gets no answer from the relay", () => {
  const down = {
    ...VIEW,
    pod: { from: "pod" as const, results: [REFUSED("UDP"), REFUSED("TCP")] },
  };
  assert.deepEqual(judgeRelay(PASSED, down), {
    status: 1,
    verdict: `FAIL: an IPv6-only pod gets no answer from the DNS relay [${IPV6}]:53 ` +
      "(UDP connection refused, TCP connection refused)",
  });
  const notSent = { ...VIEW, pod: { from: "pod" as const, notSent: "cannot create netns" } };
  assert.equal(judgeRelay(PASSED, notSent).status, 1);
});

Deno.test("judgeRelay() leaves the verdict alone when the relay answers, or when it failed already", () => {
  const up = {
    ...VIEW,
    pod: { from: "pod" as const, results: [ANSWERED("UDP"), ANSWERED("TCP")] },
  };
  assert.deepEqual(judgeRelay(PASSED, up), PASSED);
  assert.deepEqual(judgeRelay(PASSED, VIEW), PASSED, "no probe, nothing to judge");
  const failed = { verdict: "FAIL: the node cannot reach 172.18.0.1", status: 1 as const };
  assert.deepEqual(judgeRelay(failed, { ...VIEW, pod: { from: "pod", results: [] } }), failed);
});

Deno.test("relayLine() says what the IPv6-only pod got from the relay", () => {
  const line = relayLine({
    ...VIEW,
    pod: { from: "pod", results: [ANSWERED("UDP"), REFUSED("TCP")] },
  });
  assert.match(line, /; from an IPv6-only pod: UDP answered in 0\.8 ms, TCP connection refused$/);
});

Deno.test("the diagnosis's probe asks the relay over IPv6, UDP and TCP, and is refused once it is gone", async () => {
  const probe = loadProbe();
  assert.ok(probe, "this runtime cannot load the probe");
  // The upstream in a process of its own: the probe blocks this one while it waits.
  const upstream = new Deno.Command(DENO, {
    args: ["run", "--unstable-net", "--allow-net", "--no-config", "test/support/fake_upstream.ts"],
    cwd: new URL("../../..", import.meta.url).pathname,
    env: { DENO_NO_UPDATE_CHECK: "1" },
    stdout: "piped",
  }).spawn();
  try {
    const reader = upstream.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const port = Number((await reader.read()).value);
    void reader.cancel();
    const relay = await startRelayProcess(port);
    const request = {
      server: "::1",
      port: relay.port,
      name: "kind-worker",
      transports: ["UDP", "TCP"] as const,
      timeoutMs: 2000,
    };
    try {
      const results = probe({ ...request, transports: [...request.transports] });
      assert.deepEqual(results.map((r) => [r.transport, r.answered]), [["UDP", true], [
        "TCP",
        true,
      ]]);
    } finally {
      await relay.stop();
    }
    const gone = probe({ ...request, transports: [...request.transports] });
    assert.deepEqual(gone.map((r) => r.error), ["connection refused", "connection refused"]);
  } finally {
    upstream.kill("SIGKILL");
    await upstream.status;
  }
});
