import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { diagnose, type DiagnoseOptions, runDiagnose } from "./diagnose.ts";
import { parseIptablesDnsRules, parseNftDnsRules } from "./facts.ts";
import { type DiagnosisProbe, POD_LINK } from "./pod_probe.ts";
import { renderReport } from "./report.ts";
import type { ProbeResult } from "../probe.ts";
import { rewriteDockerDnsRules } from "../nat_rules.ts";
import { parseNftTable, renderNftTable, rewriteDockerDnsTable } from "../nft_dns.ts";
import { FakeHost, type FakeHostOptions } from "../../host/fake.ts";

const fixture = (name: string) =>
  readFileSync(new URL(`../../../test/testdata/iptables/${name}`, import.meta.url), "utf8");
// Docker's rules (ports 37619 tcp, 45927 udp) after the network magic's rewrite to 172.18.0.1.
const NAT_REWRITTEN = rewriteDockerDnsRules(fixture("docker.rules"), "172.18.0.1");
const NFT_REWRITTEN = renderNftTable(
  rewriteDockerDnsTable(parseNftTable(fixture("docker-dns.nft")), "172.30.0.1"),
);

Deno.test("parseIptablesDnsRules() reads DOCKER_OUTPUT's DNAT rules and the PREROUTING jump", () => {
  assert.deepEqual(parseIptablesDnsRules(NAT_REWRITTEN), {
    rules: [
      { protocol: "tcp", hostIp: "172.18.0.1", to: "127.0.0.11:37619" },
      { protocol: "udp", hostIp: "172.18.0.1", to: "127.0.0.11:45927" },
    ],
    prerouting: true,
  });
  const before = NAT_REWRITTEN.replaceAll("172.18.0.1/32", "127.0.0.11/32")
    .replace(/^-A PREROUTING.*\n/m, "");
  assert.deepEqual(parseIptablesDnsRules(before).prerouting, false);
  assert.deepEqual(parseIptablesDnsRules(before).rules[0].hostIp, "127.0.0.11");
});

Deno.test("parseNftDnsRules() reads Docker's table and the prerouting chain the entrypoint adds", () => {
  assert.deepEqual(parseNftDnsRules(NFT_REWRITTEN), {
    rules: [
      { protocol: "udp", hostIp: "172.30.0.1", to: "127.0.0.11:45927" },
      { protocol: "tcp", hostIp: "172.30.0.1", to: "127.0.0.11:37619" },
    ],
    prerouting: true,
  });
});

const OK = (transport: "UDP" | "TCP", ms: number): ProbeResult => ({
  transport,
  answered: true,
  ms,
  response: {
    id: 1,
    rcode: 0,
    status: "NOERROR",
    authoritative: false,
    truncated: false,
    question: { name: "kind-control-plane.", type: 1, class: 1 },
    answers: [{ name: "kind-control-plane.", type: 1, ttl: 600, data: "172.18.0.2" }],
  },
});
const TIMEOUT = (transport: "UDP" | "TCP"): ProbeResult => ({
  transport,
  answered: false,
  ms: 1000,
  error: "no answer within 1000 ms",
});

/** A node's mount table without /run/netns, and with it (a namespace was added before). */
const MOUNTINFO = "25 1 0:22 / / rw,relatime - overlay overlay rw\n" +
  "99 25 0:49 / /run rw,nosuid,nodev shared:5 - tmpfs tmpfs rw\n";
const MOUNTINFO_NETNS = MOUNTINFO +
  "106 99 0:49 /netns /run/netns rw,nosuid,nodev shared:23 - tmpfs tmpfs rw\n";

/** A Docker node after the network magic, with scripted probe answers per place. */
function dockerNode(
  options: { node: ProbeResult[]; pod: ProbeResult[]; routeLocalnet?: string } & FakeHostOptions,
) {
  const requests: Parameters<DiagnosisProbe>[0][] = [];
  const host = new FakeHost({
    hostname: "kind-control-plane",
    env: { container: "docker", ...options.env },
    executables: {
      "iptables-nft-save": "/usr/sbin/iptables-nft-save",
      "iptables-legacy-save": "/usr/sbin/iptables-legacy-save",
      nft: "/usr/sbin/nft",
    },
    files: {
      "/.dockerenv": "",
      "/etc/resolv.conf": "nameserver 172.18.0.1\noptions ndots:0\n",
      "/etc/resolv.conf.original": "nameserver 127.0.0.11\noptions ndots:0\n",
      "/proc/sys/net/ipv4/conf/all/route_localnet": `${options.routeLocalnet ?? "1"}\n`,
      "/proc/sys/net/ipv4/conf/default/route_localnet": "0\n",
      "/proc/self/mountinfo": MOUNTINFO_NETNS,
      ...options.files,
    },
    dirs: options.dirs ?? ["/run/netns"],
    commands: {
      "iptables-nft-save": { stdout: NAT_REWRITTEN },
      "iptables-legacy-save": { stdout: "" },
      "nft list table ip docker-dns": { status: 1, stderr: "Error: No such file or directory\n" },
      "ip -4 route show default": { stdout: "default via 172.18.0.1 dev eth0 \n" },
      "ip -4 -o addr show": {
        stdout: "1: lo    inet 127.0.0.1/8 scope host lo\n" +
          "2: eth0    inet 172.18.0.2/16 brd 172.18.255.255 scope global eth0\n",
      },
      ip: {},
      ...options.commands,
    },
  });
  const probeOptions: DiagnoseOptions = {
    id: 4242,
    stopRequested: () => undefined,
    probe: (request) => {
      requests.push(request);
      return request.netns ? options.pod : options.node;
    },
  };
  return { host, requests, options: probeOptions };
}

const HEALTHY_REPORT =
  `kind-entrypoint-ts DNS diagnosis (KIND_ENTRYPOINT_DIAGNOSE=1); nothing on the node was changed
container runtime:    Docker
Docker's DNS rules:   iptables-nft: tcp 172.18.0.1:53 -> 127.0.0.11:37619, udp 172.18.0.1:53 -> 127.0.0.11:45927; pods' path (prerouting): yes
                      iptables-legacy: none
                      nftables ip docker-dns: none
rules' host IP:       172.18.0.1 (resolv.conf's nameserver 172.18.0.1 is it)
resolv.conf:          nameserver 172.18.0.1; search (none)
resolv.conf.original: nameserver 127.0.0.11; search (none)
route_localnet:       all=1 default=0
probe from the node -> 172.18.0.1:53 for kind-control-plane: UDP answered in 0.31 ms (NOERROR 172.18.0.2); TCP answered in 0.52 ms (NOERROR 172.18.0.2)
probe from the pod  -> 172.18.0.1:53 for kind-control-plane: UDP answered in 0.4 ms (NOERROR 172.18.0.2); TCP answered in 0.6 ms (NOERROR 172.18.0.2)
verdict: OK: the node and pods reach 172.18.0.1 for kind-control-plane over UDP and TCP
`;

Deno.test("diagnose() of a healthy node: every fact, both probes, OK and status 0", async () => {
  const { host, requests, options } = dockerNode({
    node: [OK("UDP", 0.31), OK("TCP", 0.52)],
    pod: [OK("UDP", 0.4), OK("TCP", 0.6)],
  });
  const report = await diagnose(host, options);
  assert.equal(report.status, 0);
  assert.equal(renderReport(report), HEALTHY_REPORT);
  // Docker's resolver is taken at its first answer: a refusal is not asked again.
  assert.deepEqual(requests.map((r) => [r.server, r.name, r.transports, r.netns, r.retryRefused]), [
    ["172.18.0.1", "kind-control-plane", ["UDP", "TCP"], undefined, false],
    ["172.18.0.1", "kind-control-plane", ["UDP", "TCP"], "/run/netns/kets-diag-4242", undefined],
  ]);
});

Deno.test("diagnose() creates the pod-like namespace on a link-local /30 and removes it again", async () => {
  const { host, options } = dockerNode({ node: [], pod: [] });
  await diagnose(host, options);
  const ipRuns = host.effects.flatMap((e) =>
    e.type === "run" && e.argv[0] === "ip" && !e.argv.includes("-4") ? [e] : []
  );
  assert.deepEqual(ipRuns, [
    { type: "run", argv: ["ip", "netns", "add", "kets-diag-4242"] },
    {
      type: "run",
      argv: ["ip", "-batch", "-"],
      input: "link add kdiag4242 type veth peer name eth0 netns kets-diag-4242\n" +
        `addr add ${POD_LINK.node}/30 dev kdiag4242\nlink set kdiag4242 up\n`,
    },
    {
      type: "run",
      argv: ["ip", "-n", "kets-diag-4242", "-batch", "-"],
      input: `addr add ${POD_LINK.pod}/30 dev eth0\nlink set lo up\nlink set eth0 up\n` +
        `route add default via ${POD_LINK.node}\n`,
    },
    { type: "run", argv: ["ip", "link", "del", "kdiag4242"] },
    { type: "run", argv: ["ip", "netns", "del", "kets-diag-4242"] },
  ]);
  assert.ok(POD_LINK.node.startsWith("169.254.") && POD_LINK.pod.startsWith("169.254."));
});

Deno.test("diagnose() undoes what ip netns add made besides the namespace: /run/netns's mount and directory", async () => {
  const { host, options } = dockerNode({
    node: [OK("UDP", 1), OK("TCP", 1)],
    pod: [OK("UDP", 1), OK("TCP", 1)],
    files: { "/proc/self/mountinfo": MOUNTINFO },
    dirs: [],
  });
  await diagnose(host, options);
  const runs = host.effects.flatMap((e) =>
    e.type === "run" && !e.argv.includes("-4") && e.argv[0] !== "iptables-nft-save" &&
      e.argv[0] !== "iptables-legacy-save" && e.argv[0] !== "nft"
      ? [e.argv.join(" ")]
      : []
  );
  assert.deepEqual(runs.slice(-4), [
    "ip link del kdiag4242",
    "ip netns del kets-diag-4242",
    "umount /run/netns",
    "rmdir /run/netns",
  ]);
});

Deno.test("diagnose() leaves /run/netns alone when it was a mount point before (or the mount table is unreadable)", async () => {
  for (const unreadable of [false, true]) {
    const { host, options } = dockerNode({
      node: [OK("UDP", 1), OK("TCP", 1)],
      pod: [OK("UDP", 1), OK("TCP", 1)],
    });
    if (unreadable) host.files.delete("/proc/self/mountinfo");
    await diagnose(host, options);
    const touched = host.effects.filter((e) =>
      e.type === "run" && (e.argv[0] === "umount" || e.argv[0] === "rmdir")
    );
    assert.deepEqual(touched, []);
  }
});

Deno.test("diagnose() removes the namespace when the probe throws, and reports the pod path as not probed (status 2)", async () => {
  const { host, options } = dockerNode({ node: [OK("UDP", 1), OK("TCP", 1)], pod: [] });
  const report = await diagnose(host, {
    ...options,
    probe: (request) => {
      if (request.netns) throw new Error("Cannot enter the network namespace");
      return [OK("UDP", 1), OK("TCP", 1)];
    },
  });
  assert.equal(report.status, 2);
  assert.match(
    report.verdict,
    /the pod path could not be probed: Cannot enter the network namespace/,
  );
  const last = host.effects.filter((e) => e.type === "run").slice(-2);
  assert.deepEqual(last.map((e) => e.type === "run" && e.argv.join(" ")), [
    "ip link del kdiag4242",
    "ip netns del kets-diag-4242",
  ]);
});

Deno.test("diagnose() with route_localnet=0: the node answers, pods do not, and the verdict says why", async () => {
  const { host, options } = dockerNode({
    node: [OK("UDP", 0.3), OK("TCP", 0.5)],
    pod: [TIMEOUT("UDP"), TIMEOUT("TCP")],
    routeLocalnet: "0",
  });
  const report = await diagnose(host, options);
  assert.equal(report.status, 1);
  assert.equal(
    report.verdict,
    "FAIL: the node reaches 172.18.0.1, pods do not, over UDP (no answer within 1000 ms) or TCP (no answer within 1000 ms): route_localnet is 0, so the kernel drops pod packets DNATed to 127.0.0.11 (sysctl net.ipv4.conf.all.route_localnet=1)",
  );
});

Deno.test("diagnose() of a node whose rules point at a closed port: FAIL for the node, status 1", async () => {
  const refused: ProbeResult[] = ["UDP" as const, "TCP" as const].map((transport) => ({
    transport,
    answered: false,
    ms: 0.2,
    error: "connection refused",
  }));
  const { host, options } = dockerNode({ node: refused, pod: refused });
  const report = await diagnose(host, options);
  assert.equal(report.status, 1);
  assert.equal(
    report.verdict,
    "FAIL: the node (and pods) cannot reach 172.18.0.1 for kind-control-plane over UDP (connection refused) or TCP (connection refused)",
  );
});

Deno.test("diagnose() never asks a nameserver off this machine, and says the node's resolv.conf is wrong", async () => {
  const { host, requests, options } = dockerNode({
    node: [],
    pod: [],
    files: { "/etc/resolv.conf": "nameserver 192.0.2.53\n" },
  });
  const report = await diagnose(host, options);
  assert.deepEqual(requests, []);
  assert.equal(report.status, 1);
  assert.equal(report.nameserverIsRulesHostIp, false);
  assert.match(
    report.verdict,
    /^FAIL: \/etc\/resolv.conf names 192\.0\.2\.53, not the container runtime's resolver \(172\.18\.0\.1\); not probed/,
  );
  assert.match(
    renderReport(report),
    /probe from the node -> 192\.0\.2\.53:53 for kind-control-plane: not sent: 192\.0\.2\.53 is not on this machine/,
  );
});

Deno.test("diagnose() on Docker's default bridge has nothing to check: status 0, nothing sent", async () => {
  const { host, requests, options } = dockerNode({
    node: [],
    pod: [],
    files: {
      "/etc/resolv.conf": "nameserver 192.0.2.53\n",
      "/etc/resolv.conf.original": "nameserver 192.0.2.53\n",
    },
    commands: { "iptables-nft-save": { stdout: "*nat\nCOMMIT\n" } },
  });
  const report = await diagnose(host, options);
  assert.deepEqual(requests, []);
  assert.equal(report.status, 0);
  assert.match(report.verdict, /^nothing to check: no embedded resolver/);
});

const REFUSED = (transport: "UDP" | "TCP"): ProbeResult => ({
  transport,
  answered: false,
  ms: 0.2,
  error: "connection refused",
});

Deno.test("diagnose() of a node whose Docker DNS rules were flushed after boot probes its nameserver and fails", async () => {
  // resolv.conf still names the host IP the entrypoint wrote; resolv.conf.original names
  // Docker's resolver; no backend holds a rule any more.
  const { host, requests, options } = dockerNode({
    node: [REFUSED("UDP"), REFUSED("TCP")],
    pod: [],
    commands: { "iptables-nft-save": { stdout: "*nat\nCOMMIT\n" } },
  });
  const report = await diagnose(host, options);
  // The node's own path only: without the rules a pod's query would be routed off the node.
  assert.deepEqual(requests.map((r) => [r.server, r.netns, r.retryRefused]), [
    ["172.18.0.1", undefined, false],
  ]);
  assert.equal(report.status, 1);
  assert.equal(
    report.verdict,
    "FAIL: the node cannot reach 172.18.0.1 for kind-control-plane over UDP (connection refused) or TCP (connection refused); no Docker DNS rule is left, though /etc/resolv.conf.original names Docker's resolver 127.0.0.11: the rules were removed after boot",
  );
  assert.ok(!host.effects.some((e) => e.type === "run" && e.argv.includes("netns")));
});

Deno.test("runDiagnose() prints JSON with the same facts, and status 2 without a prober", async () => {
  const { host, options } = dockerNode({
    node: [OK("UDP", 0.31), OK("TCP", 0.52)],
    pod: [OK("UDP", 0.4), OK("TCP", 0.6)],
  });
  let out = "";
  const status = await runDiagnose(host, {
    ...options,
    format: "json",
    loadProbe: () => options.probe,
    write: (text) => out += text,
  });
  assert.equal(status, 0);
  const json = JSON.parse(out);
  assert.equal(json.runtime, "Docker");
  assert.deepEqual(json.rulesHostIps, ["172.18.0.1"]);
  assert.equal(json.probes[1].from, "pod");
  assert.equal(json.status, 0);

  const { host: noFfi } = dockerNode({ node: [], pod: [] });
  out = "";
  assert.equal(
    await runDiagnose(noFfi, {
      ...options,
      format: "text",
      loadProbe: () => undefined,
      write: (t) => out += t,
    }),
    2,
  );
  assert.match(out, /verdict: cannot probe: this runtime cannot open sockets through FFI/);
});

Deno.test("a stop signal while the pod namespace is being made: no pod probe, the namespace removed, status 128+n", async () => {
  const { host, requests, options } = dockerNode({
    node: [OK("UDP", 0.3), OK("TCP", 0.5)],
    pod: [OK("UDP", 0.4), OK("TCP", 0.6)],
  });
  // The signal arrives once the namespace exists (the runner notes it; see lib/boot/signals.ts).
  const stopRequested = () =>
    host.effects.some((e) => e.type === "run" && e.argv.join(" ") === "ip netns add kets-diag-4242")
      ? "SIGTERM"
      : undefined;
  let out = "";
  const status = await runDiagnose(host, {
    ...options,
    stopRequested,
    format: "text",
    loadProbe: () => options.probe,
    write: (text) => out += text,
  });
  assert.equal(status, 143);
  assert.deepEqual(requests.map((r) => r.netns), [undefined]);
  assert.match(out, /probe from the pod {2}-> .*: not sent: stopped by SIGTERM/);
  const runs = host.effects.flatMap((e) => e.type === "run" ? [e.argv.join(" ")] : []);
  assert.deepEqual(runs.slice(-2), ["ip link del kdiag4242", "ip netns del kets-diag-4242"]);
});

Deno.test("diagnose() on podman asks aardvark-dns on the gateway from the node only, and says why not from a pod", async () => {
  const { host, requests, options } = dockerNode({
    node: [OK("UDP", 0.3), OK("TCP", 0.5)],
    pod: [],
    env: { container: "podman" },
    files: {
      "/.dockerenv": "",
      "/etc/resolv.conf": "search dns.podman\nnameserver 172.18.0.1\n",
      "/etc/resolv.conf.original": "search dns.podman\nnameserver 172.18.0.1\n",
    },
    commands: { "iptables-nft-save": { stdout: "" } },
  });
  const report = await diagnose(host, options);
  assert.equal(report.runtime, "podman");
  // Asked again after a refusal, as at boot: aardvark-dns may be rebinding its sockets.
  assert.deepEqual(requests.map((r) => [r.server, r.netns, r.retryRefused]), [
    ["172.18.0.1", undefined, true],
  ]);
  assert.equal(report.status, 0);
  assert.match(
    report.verdict,
    /^OK: the node reaches 172\.18\.0\.1 .*; the pod path was not probed/,
  );
  assert.ok(!host.effects.some((e) => e.type === "run" && e.argv.includes("netns")));
});

Deno.test("diagnose() on podman counts a refused TCP connection as aardvark-dns's limit, a silent one as a failure", async () => {
  const podman = (tcp: ProbeResult) =>
    dockerNode({
      node: [OK("UDP", 0.3), tcp],
      pod: [],
      env: { container: "podman" },
      files: {
        "/etc/resolv.conf": "search dns.podman\nnameserver 172.18.0.1\n",
        "/etc/resolv.conf.original": "search dns.podman\nnameserver 172.18.0.1\n",
      },
      commands: { "iptables-nft-save": { stdout: "" } },
    });
  const refused = podman({
    transport: "TCP",
    answered: false,
    ms: 0.4,
    error: "connection refused",
  });
  const report = await diagnose(refused.host, refused.options);
  assert.equal(report.status, 0);
  assert.match(
    report.verdict,
    /^OK: the node reaches 172\.18\.0\.1 for \S+ over UDP \(TCP refused: this aardvark-dns has no TCP listener\)/,
  );
  const silent = podman(TIMEOUT("TCP"));
  const failed = await diagnose(silent.host, silent.options);
  assert.equal(failed.status, 1);
  assert.match(failed.verdict, /^FAIL: the node cannot reach 172\.18\.0\.1 .* over TCP/);
});
