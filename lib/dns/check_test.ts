import assert from "node:assert/strict";
import {
  BOOT_CHECK_TIMEOUT_MS,
  bootCheckServer,
  bootCheckWarning,
  checkDnsAtBoot,
  rulesPlaceWords,
  runtimeFromMarks,
  startDnsCheck,
} from "./check.ts";
import type { ProbeRequest, ProbeResult } from "./probe.ts";
import type { NetworkMagic } from "./network_magic.ts";
import { FakeHost } from "../host/fake.ts";

const DOCKER_RESOLV = "nameserver 127.0.0.11\nsearch example.com\noptions ndots:0\n";
const DOCKER_MAGIC: NetworkMagic = {
  hostIp: "172.18.0.1",
  rules: "iptables",
  resolvConf: {
    original: DOCKER_RESOLV,
    written: "nameserver 172.18.0.1\nsearch example.com\noptions ndots:0\n",
  },
};
const ANSWERED: ProbeResult = { transport: "UDP", answered: true, ms: 0.4 };
const REFUSED = (transport: "UDP" | "TCP"): ProbeResult => ({
  transport,
  answered: false,
  ms: 0.3,
  error: "connection refused",
});

Deno.test("runtimeFromMarks() tells Docker, podman and others apart", () => {
  const none = { dockerenv: false, containerenv: false, container: undefined };
  assert.equal(runtimeFromMarks({ ...none, dockerenv: true, container: "docker" }), "Docker");
  assert.equal(runtimeFromMarks({ ...none, containerenv: true, container: "docker" }), "podman");
  assert.equal(runtimeFromMarks({ ...none, container: "podman" }), "podman");
  assert.equal(runtimeFromMarks({ ...none, container: "docker" }), "other");
});

Deno.test("bootCheckServer() checks Docker's embedded resolver at the host IP it was moved to", () => {
  assert.equal(bootCheckServer(DOCKER_MAGIC, () => "Docker"), "172.18.0.1");
});

Deno.test("bootCheckServer() checks podman's aardvark-dns on the gateway, and nothing else", () => {
  const podman: NetworkMagic = {
    hostIp: "10.89.0.1",
    rules: "nowhere",
    resolvConf: {
      original: "search dns.podman\nnameserver 10.89.0.1\nnameserver 192.0.2.53\n",
      written: "search dns.podman\nnameserver 10.89.0.1\nnameserver 192.0.2.53\n",
    },
  };
  assert.equal(bootCheckServer(podman, () => "podman"), "10.89.0.1");
  assert.equal(bootCheckServer(podman, () => "Docker"), undefined);
});

Deno.test("bootCheckServer() has nothing to check on Docker's default bridge or nerdctl (the host's nameservers)", () => {
  const bridge: NetworkMagic = {
    hostIp: "172.17.0.1",
    rules: "nowhere",
    resolvConf: { original: "nameserver 192.0.2.53\n", written: "nameserver 192.0.2.53\n" },
  };
  assert.equal(bootCheckServer(bridge, () => "Docker"), undefined);
  assert.equal(bootCheckServer(bridge, () => "other"), undefined);
});

Deno.test("rulesPlaceWords() names the backend select_iptables chose", () => {
  assert.equal(rulesPlaceWords("iptables", "nft"), "iptables-nft");
  assert.equal(rulesPlaceWords("iptables", "legacy"), "iptables-legacy");
  assert.equal(rulesPlaceWords("iptables-legacy", "nft"), "iptables-legacy");
  assert.equal(rulesPlaceWords("iptables"), "iptables");
  assert.equal(rulesPlaceWords("nftables"), "Docker's nftables table ip docker-dns");
  assert.equal(rulesPlaceWords("nowhere"), "nowhere");
});

Deno.test("bootCheckWarning() says nothing when both transports answered", () => {
  const results = [ANSWERED, { ...ANSWERED, transport: "TCP" as const }];
  assert.equal(
    bootCheckWarning({ server: "172.18.0.1", name: "n", runtime: "Docker", rules: "x", results }),
    undefined,
  );
});

Deno.test("bootCheckWarning() names the nameserver, the transports, the runtime, the rules and what to check", () => {
  assert.equal(
    bootCheckWarning({
      server: "172.18.0.1",
      name: "kind-control-plane",
      runtime: "Docker",
      rules: "iptables-nft",
      results: [REFUSED("UDP"), REFUSED("TCP")],
    }),
    "DNS: nameserver 172.18.0.1 (/etc/resolv.conf) did not answer kind-control-plane from the node over UDP (connection refused) or TCP (connection refused); container runtime: Docker; Docker's DNS rules: iptables-nft; check: the DNAT rules (iptables-nft-save -t nat, chain DOCKER_OUTPUT) must send 172.18.0.1:53 to the ports dockerd's resolver listens on at 127.0.0.11; they go stale when dockerd restarts without the node; for a full report run KIND_ENTRYPOINT_DIAGNOSE=1 /usr/local/bin/entrypoint in the node",
  );
});

Deno.test("bootCheckWarning() says which transport answered when only one failed", () => {
  const warning = bootCheckWarning({
    server: "172.18.0.1",
    name: "n",
    runtime: "Docker",
    rules: "Docker's nftables table ip docker-dns",
    results: [ANSWERED, {
      transport: "TCP",
      answered: false,
      ms: 300,
      error: "no answer within 300 ms",
    }],
  })!;
  assert.match(
    warning,
    /^DNS: nameserver 172\.18\.0\.1 \(\/etc\/resolv\.conf\) did not answer n from the node over TCP \(no answer within 300 ms\), though it did over UDP \(0\.4 ms\);/,
  );
  assert.match(warning, /check: the DNAT rules \(nft list table ip docker-dns\)/);
});

Deno.test("bootCheckWarning() points podman users at aardvark-dns and Docker without rules at its firewall backend", () => {
  const base = { server: "10.89.0.1", name: "n", results: [REFUSED("UDP"), REFUSED("TCP")] };
  assert.match(
    bootCheckWarning({ ...base, runtime: "podman", rules: "nowhere" })!,
    /container runtime: podman; Docker's DNS rules: nowhere; check: aardvark-dns should answer on 10\.89\.0\.1:53/,
  );
  assert.match(
    bootCheckWarning({ ...base, runtime: "Docker", rules: "nowhere" })!,
    /check: no iptables backend and no nftables table holds Docker's DNS rules: which firewall backend does dockerd use/,
  );
});

/** A prober that records its requests and answers with `results`. */
function fakeProbe(results: ProbeResult[]) {
  const requests: ProbeRequest[] = [];
  return {
    requests,
    start: (request: ProbeRequest) => {
      requests.push(request);
      return { finish: () => results };
    },
  };
}

const DOCKER_NODE = {
  hostname: "kind-control-plane",
  files: { "/.dockerenv": "" },
  env: { container: "docker" },
};

Deno.test("checkDnsAtBoot() asks the new nameserver for the node's hostname over UDP and TCP, bounded, and is silent when it answers", () => {
  const host = new FakeHost(DOCKER_NODE);
  const { requests, start } = fakeProbe([ANSWERED, { ...ANSWERED, transport: "TCP" }]);
  checkDnsAtBoot(host, DOCKER_MAGIC, { start, iptablesMode: "nft" });
  assert.deepEqual(requests, [{
    server: "172.18.0.1",
    name: "kind-control-plane",
    transports: ["UDP", "TCP"],
    timeoutMs: BOOT_CHECK_TIMEOUT_MS,
    retryRefused: false,
  }]);
  assert.equal(BOOT_CHECK_TIMEOUT_MS, 300);
  assert.deepEqual(host.events, []);
});

Deno.test("checkDnsAtBoot() logs exactly one WARN line when the nameserver does not answer", () => {
  const host = new FakeHost(DOCKER_NODE);
  const { start } = fakeProbe([REFUSED("UDP"), REFUSED("TCP")]);
  checkDnsAtBoot(host, DOCKER_MAGIC, { start, iptablesMode: "legacy" });
  assert.equal(host.logs.length, 1);
  assert.match(
    host.logs[0],
    /^WARN: DNS: nameserver 172\.18\.0\.1 .*Docker's DNS rules: iptables-legacy;/,
  );
});

Deno.test("checkDnsAtBoot() sends nothing where there is nothing to check, or no prober", () => {
  const host = new FakeHost(DOCKER_NODE);
  const { requests, start } = fakeProbe([]);
  const bridge = {
    ...DOCKER_MAGIC,
    resolvConf: { original: "nameserver 192.0.2.53\n", written: "nameserver 192.0.2.53\n" },
  };
  checkDnsAtBoot(host, bridge, { start });
  checkDnsAtBoot(host, DOCKER_MAGIC, { start: undefined });
  assert.deepEqual(requests, []);
  assert.deepEqual(host.events, []);
});

Deno.test("checkDnsAtBoot() says so in one WARN line when the check cannot run, and goes on", () => {
  const host = new FakeHost(DOCKER_NODE);
  checkDnsAtBoot(host, DOCKER_MAGIC, {
    start: () => {
      throw new Error("Cannot open a socket");
    },
  });
  assert.deepEqual(host.logs, [
    "WARN: DNS: the check of nameserver 172.18.0.1 could not run: Cannot open a socket",
  ]);
});

Deno.test("startDnsCheck() sends the queries at once and warns only when finished", () => {
  const host = new FakeHost(DOCKER_NODE);
  const { requests, start } = fakeProbe([REFUSED("UDP"), REFUSED("TCP")]);
  const check = startDnsCheck(host, DOCKER_MAGIC, { start })!;
  assert.equal(requests.length, 1);
  assert.deepEqual(host.logs, []);
  check.finish();
  assert.equal(host.logs.length, 1);
});

Deno.test("startDnsCheck() asks podman's aardvark-dns over UDP only (older releases serve no TCP), again after a refusal", () => {
  const host = new FakeHost({ hostname: "kind-control-plane", env: { container: "podman" } });
  const { requests, start } = fakeProbe([ANSWERED]);
  const podman: NetworkMagic = {
    hostIp: "10.89.0.1",
    rules: "nowhere",
    resolvConf: {
      original: "search dns.podman\nnameserver 10.89.0.1\n",
      written: "search dns.podman\nnameserver 10.89.0.1\n",
    },
  };
  checkDnsAtBoot(host, podman, { start });
  assert.deepEqual(requests.map((r) => [r.server, r.transports, r.retryRefused]), [
    ["10.89.0.1", ["UDP"], true],
  ]);
  assert.deepEqual(host.logs, []);
});
