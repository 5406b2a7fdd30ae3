import assert from "node:assert/strict";
import { formatPlan } from "../../boot/dry_run.ts";
import { createDryRun } from "../../host/dry_run.ts";
import { enableNetworkMagic } from "../network_magic.ts";
import {
  enableRelay,
  findRelayAddress,
  IPV6_SYSCTLS,
  isIpv6Cluster,
  isRelayAddress,
  RELAY_ENV_FILE,
  RELAY_UNIT_FILE,
  RELAY_WANTS_DIR,
  RELAY_WANTS_LINK,
  relaySettings,
  renderRelayEnv,
} from "./node.ts";
import { FakeHost } from "../../host/fake.ts";

const IPV6 = "fc00:f853:ccd:e793::3";
const DOCKER = "nameserver 127.0.0.11\nsearch x.example\noptions ndots:0\n";

Deno.test("isIpv6Cluster() needs both of kind's IPv6 settings", () => {
  assert.equal(isIpv6Cluster("0\n", "1\n"), true);
  assert.equal(isIpv6Cluster("1\n", "0\n"), false, "Docker's defaults on a dual-stack network");
  assert.equal(isIpv6Cluster("0\n", "0\n"), false, "IPv6 on, but no forwarding");
  assert.equal(isIpv6Cluster(undefined, "1\n"), false, "no IPv6 in the kernel");
});

Deno.test("isRelayAddress() takes global and unique-local IPv6 addresses only", () => {
  assert.equal(isRelayAddress(IPV6), true);
  assert.equal(isRelayAddress("2001:db8::5"), true);
  assert.equal(isRelayAddress("::ffff:172.17.0.2"), false, "getent's answer without IPv6");
  assert.equal(isRelayAddress("fe80::42:acff:fe11:2"), false);
  assert.equal(isRelayAddress("::1"), false);
  assert.equal(isRelayAddress("172.18.0.2"), false);
});

Deno.test("relaySettings() forwards to the first IPv4 nameserver, only when the relay is named", () => {
  const written = `nameserver 172.18.0.1\nnameserver ${IPV6}\n`;
  assert.deepEqual(relaySettings(written, IPV6), { listen: IPV6, upstream: "172.18.0.1" });
  assert.equal(relaySettings("nameserver 172.18.0.1\n", IPV6), undefined);
  assert.equal(relaySettings(`nameserver ${IPV6}\n`, IPV6), undefined);
});

Deno.test("renderRelayEnv() writes the unit's two settings", () => {
  assert.equal(
    renderRelayEnv({ listen: IPV6, upstream: "172.18.0.1" }),
    "# The DNS relay for IPv6 pods (kind-dns-relay.service); written by the entrypoint at boot.\n" +
      `KIND_DNS_RELAY_LISTEN=${IPV6}\nKIND_DNS_RELAY_UPSTREAM=172.18.0.1\n`,
  );
});

/** A node with kind's IPv6 settings (or Docker's defaults with `ipv6Cluster: false`). */
function node(options: { ipv6Cluster?: boolean; files?: Record<string, string> } = {}) {
  const cluster = options.ipv6Cluster ?? true;
  return new FakeHost({
    dirs: ["/etc", "/kind", "/etc/systemd/system"],
    lookups: { "4:kind-control-plane": "172.18.0.2", "6:kind-control-plane": IPV6 },
    files: {
      "/etc/resolv.conf": DOCKER,
      [IPV6_SYSCTLS.disableIpv6]: cluster ? "0\n" : "1\n",
      [IPV6_SYSCTLS.forwarding]: cluster ? "1\n" : "0\n",
      ...options.files,
    },
    commands: {
      ip: { stdout: "default via 172.18.0.1 dev eth0 \n" },
      "iptables-save": { stdout: "*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n" },
      ln: {},
    },
  });
}

Deno.test("findRelayAddress() finds the node's IPv6 address in a cluster with IPv6 only", async () => {
  assert.deepEqual(await findRelayAddress(node()), { address: IPV6 });
  assert.equal(await findRelayAddress(node({ ipv6Cluster: false })), undefined);
  assert.deepEqual(
    await findRelayAddress(node({ files: { "/kind/old-ipv6": "fc00:f853:ccd:e793::9\n" } })),
    { address: IPV6, old: "fc00:f853:ccd:e793::9" },
  );
});

Deno.test("enableRelay() announces, writes the settings and enables the unit", async () => {
  const host = node();
  await enableRelay(host, { listen: IPV6, upstream: "172.18.0.1" });
  assert.deepEqual(host.events, [
    {
      type: "log",
      level: "INFO",
      message: `enabling the DNS relay for IPv6 pods on [${IPV6}]:53, forwarding to 172.18.0.1`,
    },
    {
      type: "write",
      path: RELAY_ENV_FILE,
      data: renderRelayEnv({ listen: IPV6, upstream: "172.18.0.1" }),
      atomic: true,
    },
    { type: "mkdir", path: RELAY_WANTS_DIR },
    { type: "run", argv: ["ln", "-sfn", RELAY_UNIT_FILE, RELAY_WANTS_LINK] },
  ]);
});

Deno.test("enableRelay() leaves an existing enablement link alone", async () => {
  const host = node({ files: { [RELAY_WANTS_LINK]: "[Unit]\n" } });
  await enableRelay(host, { listen: IPV6, upstream: "172.18.0.1" });
  assert.ok(!host.events.some((event) => event.type === "run"));
});

Deno.test("enableNetworkMagic() on a node of a cluster with IPv6 adds the relay and enables it", async () => {
  const host = node();
  await enableNetworkMagic(host);
  assert.equal(
    host.files.get("/etc/resolv.conf"),
    `nameserver 172.18.0.1\nnameserver ${IPV6}\nsearch x.example\noptions ndots:0\n`,
  );
  assert.equal(host.files.get("/etc/resolv.conf.original"), DOCKER);
  assert.equal(
    host.files.get(RELAY_ENV_FILE),
    renderRelayEnv({ listen: IPV6, upstream: "172.18.0.1" }),
  );
  // A second run finds its own resolv.conf and keeps Docker's as the original.
  const again = node({ files: Object.fromEntries(host.files) });
  await enableNetworkMagic(again);
  assert.equal(again.files.get("/etc/resolv.conf"), host.files.get("/etc/resolv.conf"));
  assert.equal(again.files.get("/etc/resolv.conf.original"), DOCKER);
});

Deno.test("enableNetworkMagic() on a node without kind's IPv6 settings leaves no trace of the relay", async () => {
  const host = node({ ipv6Cluster: false });
  await enableNetworkMagic(host);
  assert.equal(
    host.files.get("/etc/resolv.conf"),
    "nameserver 172.18.0.1\nsearch x.example\noptions ndots:0\n",
  );
  assert.equal(host.files.has(RELAY_ENV_FILE), false);
  assert.ok(!host.events.some((event) => JSON.stringify(event).includes("relay")));
  assert.ok(!host.events.some((event) => event.type === "run" && event.argv[0] === "ln"));
});

Deno.test("a dry run on a node of a cluster with IPv6 lists every change the relay makes", async () => {
  const real = node();
  const { host, plan } = createDryRun(real);
  await enableNetworkMagic(host);
  const text = formatPlan(plan);
  assert.deepEqual(
    real.events.filter((event) => event.type !== "log" && event.type !== "run"),
    [],
    "nothing written on the real host",
  );
  assert.ok(!real.events.some((event) => event.type === "run" && event.argv[0] === "ln"));
  assert.ok(
    real.events.some((event) =>
      event.type === "log" &&
      event.message ===
        `(dry run) would enable the DNS relay for IPv6 pods on [${IPV6}]:53, forwarding to 172.18.0.1`
    ),
  );
  assert.match(text, new RegExp(`\\+nameserver ${IPV6}`));
  assert.match(text, new RegExp(`write ${RELAY_ENV_FILE}\n`));
  assert.match(text, new RegExp(`mkdir -p ${RELAY_WANTS_DIR}\n`));
  assert.match(text, new RegExp(`run ln -sfn ${RELAY_UNIT_FILE} ${RELAY_WANTS_LINK}\n`));
});
