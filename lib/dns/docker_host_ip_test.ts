import assert from "node:assert/strict";
import {
  chooseDockerHostIp,
  defaultRouteFromProc,
  gatewayFromRoutes,
  isLoopbackIPv4,
} from "./docker_host_ip.ts";
import { FakeHost } from "../host/fake.ts";
import { findDockerHostIp } from "./docker_host_ip.ts";

Deno.test("gatewayFromRoutes() reads the gateway of `ip -4 route show default`", () => {
  assert.equal(gatewayFromRoutes("default via 172.18.0.1 dev eth0 \n"), "172.18.0.1");
  assert.equal(
    gatewayFromRoutes("default via 10.0.0.1 dev eth0 proto dhcp src 10.0.0.5 metric 100\n"),
    "10.0.0.1",
  );
});

const badRoutes: Array<[string, string, RegExp]> = [
  ["no default route", "", /there is no IPv4 default route/],
  [
    "two default routes",
    "default via 10.0.0.1 dev eth0\ndefault via 10.1.0.1 dev eth1 metric 5\n",
    /there are 2 IPv4 default routes: default via 10.0.0.1 dev eth0; default via 10.1.0.1/,
  ],
  [
    "a route without a gateway",
    "default dev eth0 scope link\n",
    /the default route has no gateway address: default dev eth0 scope link/,
  ],
];
for (const [name, routes, message] of badRoutes) {
  Deno.test(`gatewayFromRoutes() rejects ${name}`, () => {
    assert.throws(() => gatewayFromRoutes(routes), message);
  });
}

Deno.test("isLoopbackIPv4() matches 127.x.y.z like the bash's regex", () => {
  assert.equal(isLoopbackIPv4("127.0.0.1"), true);
  assert.equal(isLoopbackIPv4("127.1.2.3"), true);
  assert.equal(isLoopbackIPv4("172.17.0.1"), false);
  assert.equal(isLoopbackIPv4("127.0.0"), false);
});

const ROUTE = () => Promise.resolve("default via 172.18.0.1 dev eth0 \n");

Deno.test("chooseDockerHostIp() prefers host.docker.internal when it is not loopback", async () => {
  assert.deepEqual(await chooseDockerHostIp("192.168.65.254", ROUTE), {
    address: "192.168.65.254",
    source: "host.docker.internal",
  });
});

Deno.test("chooseDockerHostIp() falls back to the gateway for a loopback or missing answer", async () => {
  assert.deepEqual(await chooseDockerHostIp("127.0.0.1", ROUTE), {
    address: "172.18.0.1",
    source: "default route",
  });
  assert.deepEqual(await chooseDockerHostIp(undefined, ROUTE), {
    address: "172.18.0.1",
    source: "default route",
  });
});

Deno.test("chooseDockerHostIp() names both sources when neither gives an address", async () => {
  await assert.rejects(
    chooseDockerHostIp(undefined, () => Promise.resolve("")),
    /^EntrypointError: Cannot find the Docker host IP: host.docker.internal has no IPv4 address \(looked up for at most 5 s\), and there is no IPv4 default route$/,
  );
  await assert.rejects(
    chooseDockerHostIp("127.0.0.1", () => Promise.resolve("")),
    /host.docker.internal resolves to the loopback address 127.0.0.1, and there is no IPv4 default route/,
  );
});

Deno.test("findDockerHostIp() asks for the routes only when the lookup is not usable", async () => {
  const host = new FakeHost({ lookups: { "4:host.docker.internal": "192.168.65.254" } });
  assert.equal((await findDockerHostIp(host)).address, "192.168.65.254");
  assert.deepEqual(host.events, []);
  const fallback = new FakeHost({
    commands: { ip: { stdout: "default via 172.18.0.1 dev eth0 \n" } },
  });
  assert.equal((await findDockerHostIp(fallback)).address, "172.18.0.1");
  assert.deepEqual(fallback.events, [{
    type: "run",
    argv: ["ip", "-4", "route", "show", "default"],
  }]);
});

Deno.test("findDockerHostIp() reports a missing ip command with its exit status", async () => {
  const host = new FakeHost();
  await assert.rejects(findDockerHostIp(host), (error: Error & { exitCode?: number }) => {
    assert.match(
      error.message,
      /Cannot find the Docker host IP: .*Command `ip -4 route show default` could not be run: command not found in PATH/,
    );
    assert.equal(error.exitCode, 127);
    return true;
  });
});

Deno.test("defaultRouteFromProc() reads one default route through a gateway like ip prints it", () => {
  const table =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
    "eth0\t00000000\t010012AC\t0003\t0\t0\t0\t00000000\t0\t0\t0\n" +
    "eth0\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
  assert.equal(defaultRouteFromProc(table), "default via 172.18.0.1 dev eth0\n");
  assert.equal(gatewayFromRoutes(defaultRouteFromProc(table)!), "172.18.0.1");
});

Deno.test("defaultRouteFromProc() leaves anything but one gatewayed default route to ip", () => {
  const head = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n";
  const route = (gw: string, flags: string) =>
    `eth0\t00000000\t${gw}\t${flags}\t0\t0\t0\t00000000\n`;
  assert.equal(defaultRouteFromProc(undefined), undefined);
  assert.equal(defaultRouteFromProc(head), undefined);
  assert.equal(defaultRouteFromProc(head + route("00000000", "0001")), undefined);
  assert.equal(defaultRouteFromProc(head + route("010012AC", "0203")), undefined);
  assert.equal(
    defaultRouteFromProc(head + route("010012AC", "0003") + route("010013AC", "0003")),
    undefined,
  );
});
