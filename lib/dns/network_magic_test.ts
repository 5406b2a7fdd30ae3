import assert from "node:assert/strict";
import { enableNetworkMagic, writeResolvConf } from "./network_magic.ts";
import { FakeHost } from "../host/fake.ts";

const SAVE = Deno.readTextFileSync(
  new URL("../../test/testdata/iptables/docker-udp-output.rules", import.meta.url),
);
const RESTORED = Deno.readTextFileSync(
  new URL("../../test/testdata/iptables/docker-udp-output-rewritten.rules", import.meta.url),
);

function node(env: Record<string, string> = {}, executables: Record<string, string> = {}) {
  return new FakeHost({
    env,
    executables,
    lookups: { "4:kind-control-plane": "172.18.0.2" },
    files: { "/etc/resolv.conf": "nameserver 127.0.0.11\nsearch x.example\noptions ndots:0\n" },
    commands: {
      ip: { stdout: "default via 172.18.0.1 dev eth0 \n" },
      "iptables-save": { stdout: SAVE },
      "iptables-restore": {},
    },
  });
}

Deno.test("enableNetworkMagic() runs its effects in kind's order", async () => {
  const host = node();
  await enableNetworkMagic(host);
  assert.deepEqual(host.events, [
    { type: "run", argv: ["ip", "-4", "route", "show", "default"] },
    { type: "run", argv: ["iptables-save"] },
    { type: "run", argv: ["iptables-restore"], input: RESTORED },
    {
      type: "write",
      path: "/etc/resolv.conf.original",
      data: "nameserver 127.0.0.11\nsearch x.example\noptions ndots:0\n",
      atomic: true,
    },
    {
      type: "write",
      path: "/etc/resolv.conf",
      data: "nameserver 172.18.0.1\nsearch x.example\noptions ndots:0\n",
    },
    { type: "log", level: "INFO", message: "detected IPv4 address: 172.18.0.2" },
    { type: "write", path: "/kind/old-ipv4", data: "172.18.0.2" },
    { type: "log", level: "INFO", message: "detected IPv6 address: " },
  ]);
});

Deno.test("enableNetworkMagic() a second time changes neither rules nor resolv.conf.original", async () => {
  const host = node({ KIND_DNS_SEARCH: "a.example" });
  await enableNetworkMagic(host);
  const first = new Map(host.files);
  host.events.length = 0;
  // The kernel now holds the restored rules.
  const again = new FakeHost({
    env: { KIND_DNS_SEARCH: "a.example" },
    lookups: { "4:kind-control-plane": "172.18.0.2" },
    files: Object.fromEntries(first),
    commands: {
      ip: { stdout: "default via 172.18.0.1 dev eth0 \n" },
      "iptables-save": { stdout: RESTORED },
    },
  });
  await enableNetworkMagic(again);
  assert.ok(!again.events.some((e) => e.type === "run" && e.argv[0] === "iptables-restore"));
  assert.deepEqual(new Map(again.files), first);
});

Deno.test("enableNetworkMagic() stops before any rule when iptables-save prints no ruleset", async () => {
  const host = node();
  host.files.set("/etc/resolv.conf", "nameserver 127.0.0.11\n");
  const garbled = new FakeHost({
    lookups: {},
    files: Object.fromEntries(host.files),
    commands: {
      ip: { stdout: "default via 172.18.0.1 dev eth0 \n" },
      "iptables-save": { stdout: "Segmentation fault\n" },
    },
  });
  await assert.rejects(
    enableNetworkMagic(garbled),
    /Cannot parse iptables-save output: line 1 is outside a table: "Segmentation fault"/,
  );
  assert.deepEqual(garbled.effects.map((e) => e.type), ["run", "run"]);
});

Deno.test("enableNetworkMagic() fails with iptables-restore's status and stderr, before touching resolv.conf", async () => {
  const host = new FakeHost({
    files: { "/etc/resolv.conf": "nameserver 127.0.0.11\n" },
    commands: {
      ip: { stdout: "default via 172.18.0.1 dev eth0 \n" },
      "iptables-save": { stdout: SAVE },
      "iptables-restore": { status: 2, stderr: "iptables-restore: line 5 failed\n" },
    },
  });
  await assert.rejects(enableNetworkMagic(host), (error: Error & { exitCode: number }) => {
    assert.equal(
      error.message,
      "Command `iptables-restore` exited with status 2: iptables-restore: line 5 failed",
    );
    assert.equal(error.exitCode, 2);
    return true;
  });
  assert.equal(host.files.get("/etc/resolv.conf"), "nameserver 127.0.0.11\n");
  assert.equal(host.files.has("/etc/resolv.conf.original"), false);
});

const resolvFailures: Array<{ name: string; setup: (h: FakeHost) => void; message: RegExp }> = [
  {
    name: "is missing",
    setup: (h) => h.files.delete("/etc/resolv.conf"),
    message: /^EntrypointError: Cannot read \/etc\/resolv.conf: no such file or directory$/,
  },
  {
    name: "is a directory",
    setup: (h) => {
      h.files.delete("/etc/resolv.conf");
      h.dirs.add("/etc/resolv.conf");
    },
    message: /^EntrypointError: Cannot read \/etc\/resolv.conf: it is a directory$/,
  },
];
for (const { name, setup, message } of resolvFailures) {
  Deno.test(`writeResolvConf() names the file when it ${name} and writes nothing`, () => {
    const host = new FakeHost({ files: { "/etc/resolv.conf": "nameserver 127.0.0.11\n" } });
    setup(host);
    assert.throws(() => writeResolvConf(host, "172.18.0.1", undefined), message);
    assert.deepEqual(host.effects, []);
  });
}

Deno.test("writeResolvConf() keeps the file when the result would be empty", () => {
  const host = new FakeHost({ files: { "/etc/resolv.conf": "search a.example\n" } });
  assert.throws(
    () => writeResolvConf(host, "172.18.0.1", ""),
    /^EntrypointError: Cannot rewrite \/etc\/resolv.conf: every line of it is a search or domain line and KIND_DNS_SEARCH is empty, so the new file would be empty; it was left as it was$/,
  );
  assert.deepEqual(host.effects, []);
});

Deno.test("writeResolvConf() keeps a new Docker file after a restart as the original", () => {
  const host = new FakeHost({
    files: {
      "/etc/resolv.conf": "nameserver 127.0.0.11\noptions ndots:0\n",
      "/etc/resolv.conf.original": "nameserver 127.0.0.11\n",
    },
  });
  writeResolvConf(host, "172.18.0.1", undefined);
  assert.equal(
    host.files.get("/etc/resolv.conf.original"),
    "nameserver 127.0.0.11\noptions ndots:0\n",
  );
  assert.equal(host.files.get("/etc/resolv.conf"), "nameserver 172.18.0.1\noptions ndots:0\n");
});

Deno.test("enableNetworkMagic() looks for Docker's nftables table only when iptables has no DOCKER_OUTPUT", async () => {
  const common = node({}, { nft: "/usr/sbin/nft" });
  await enableNetworkMagic(common);
  assert.ok(!common.events.some((e) => e.type === "run" && e.argv[0] === "nft"));

  const nftables = new FakeHost({
    lookups: { "4:kind-control-plane": "172.18.0.2" },
    executables: { nft: "/usr/sbin/nft" },
    files: { "/etc/resolv.conf": "nameserver 127.0.0.11\n" },
    commands: {
      ip: { stdout: "default via 172.18.0.1 dev eth0 \n" },
      "iptables-save": { stdout: "" },
      nft: { status: 1, stderr: "Error: No such file or directory\n" },
    },
  });
  await enableNetworkMagic(nftables);
  assert.deepEqual(
    nftables.events.filter((e) => e.type === "run").map((e) =>
      (e as { argv: string[] }).argv.join(" ")
    ),
    ["ip -4 route show default", "iptables-save", "nft list table ip docker-dns"],
  );
});

Deno.test("enableNetworkMagic() leaves the rules alone when resolv.conf cannot be read", async () => {
  for (
    const setUp of [
      (host: FakeHost) => host.files.delete("/etc/resolv.conf"),
      (host: FakeHost) => {
        host.files.delete("/etc/resolv.conf");
        host.dirs.add("/etc/resolv.conf");
      },
    ]
  ) {
    const host = node();
    setUp(host);
    await assert.rejects(enableNetworkMagic(host), /Cannot read \/etc\/resolv.conf/);
    assert.ok(!host.events.some((e) => e.type === "run" && e.argv[0] === "iptables-restore"));
    assert.ok(!host.events.some((e) => e.type === "write"));
  }
});

Deno.test("enableNetworkMagic() leaves the rules alone when resolv.conf cannot be rewritten", async () => {
  const host = node({ KIND_DNS_SEARCH: "" });
  host.files.set("/etc/resolv.conf", "search only.example\n");
  await assert.rejects(enableNetworkMagic(host), /Cannot rewrite \/etc\/resolv.conf/);
  assert.ok(!host.events.some((e) => e.type === "run" && e.argv[0] === "iptables-restore"));
});

Deno.test("enableNetworkMagic() rewrites Docker's rules in the other iptables backend when legacy was selected", async () => {
  const host = new FakeHost({
    lookups: { "4:kind-control-plane": "172.18.0.2" },
    executables: { "iptables-nft-save": "/usr/sbin/iptables-nft-save", nft: "/usr/sbin/nft" },
    files: { "/etc/resolv.conf": "nameserver 127.0.0.11\n" },
    commands: {
      ip: { stdout: "default via 172.18.0.1 dev eth0 \n" },
      "iptables-save": { stdout: "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n" },
      "iptables-nft-save": { stdout: SAVE },
      "iptables-nft-restore": {},
    },
  });
  await enableNetworkMagic(host);
  assert.deepEqual(
    host.events.filter((e) => e.type === "run").map((e) => (e as { argv: string[] }).argv[0]),
    ["ip", "iptables-save", "iptables-nft-save", "iptables-nft-restore"],
  );
  assert.equal(host.files.get("/etc/resolv.conf"), "nameserver 172.18.0.1\n");
});

Deno.test("enableNetworkMagic() rewrites the dump select_iptables took instead of running iptables-save", async () => {
  const host = node();
  const saved = {
    argv: ["iptables-nft-save"],
    status: 0,
    stdout: SAVE,
    stderr: "",
    timedOut: false,
  };
  await enableNetworkMagic(host, { saved });
  const runs = host.events.flatMap((e) => e.type === "run" ? [e] : []);
  assert.deepEqual(runs, [
    { type: "run", argv: ["ip", "-4", "route", "show", "default"] },
    { type: "run", argv: ["iptables-restore"], input: RESTORED },
  ]);
});
