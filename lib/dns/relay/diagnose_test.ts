import assert from "node:assert/strict";
import { FakeHost } from "../../host/fake.ts";
import { hasSocket, parseEnvFile, procNetAddress, readRelayView, relayLine } from "./diagnose.ts";
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
