/**
 * What the DNS relay costs (`npm run bench -- --relay`), on loopback with the fake upstream of the
 * tests (test/support/fake_upstream.ts), each in its own process: the relay is dist/relay.js run as the
 * node's unit runs it, pinned to one CPU (`taskset`), listening on ::1 and forwarding to the fake
 * upstream on 127.0.0.1, with the unit's Deno flags; the queries come from this process (on the
 * other CPU where there is one).
 *   latency: the same A query sent one at a time, alternately to the upstream directly and through
 *            the relay; p50 and p99 of each, and the relay's added p50 and p99;
 *   throughput: UDP queries kept `WINDOW` in flight for a few seconds; answers per second;
 *   memory: the relay's VmRSS idle (started, no query yet), after the load, and its VmHWM, with
 *           the anonymous and file-backed (Deno's own code, shared) parts.
 *   beside dnsmasq: dnsmasq (Debian's dnsmasq-base, `--cache-size=0`, so it only forwards) on ::1
 *            in front of the same upstream, pinned to the relay's CPU; dnsperf loads each in turn
 *            (64 outstanding, 4 clients), rounds interleaved; the median round's answers/s, p50
 *            and p99 of all rounds' queries (dnsperf's own latencies), VmRSS after the load.
 * Loopback, so it measures the relay's own work: on a node, Docker's resolver and the bridge add
 * the same time to both paths.
 *
 * Usage: deno run -A --unstable-net bench/relay.ts [--out FILE] [--docs FILE] [--queries N]
 *        [--seconds S]
 */
import { parseArgs } from "node:util";
import { writeFileSync } from "node:fs";
import { buildQuery } from "../lib/dns/message.ts";
import { compareWithDnsmasq } from "./relay_dnsmasq.ts";
import { renderRelayDocs, replaceRelayDocsBlock } from "./relay_report.ts";

const repo = new URL("..", import.meta.url).pathname;
const deno = `${repo}node_modules/.bin/deno`;
const WINDOW = 64;

const { values } = parseArgs({
  options: {
    out: { type: "string" },
    docs: { type: "string" },
    queries: { type: "string", default: "5000" },
    seconds: { type: "string", default: "5" },
  },
});

/** Starts a program and returns it with the first line it prints on `stream`. */
async function startWithLine(
  argv: string[],
  stream: "stdout" | "stderr",
  env: Record<string, string> = {},
) {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: { DENO_NO_UPDATE_CHECK: "1", ...env },
    stdout: stream === "stdout" ? "piped" : "null",
    stderr: stream === "stderr" ? "piped" : "inherit",
  }).spawn();
  const reader = (stream === "stdout" ? child.stdout : child.stderr)
    .pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${argv.join(" ")} ended before printing a line`);
    text += value;
  }
  // Keep draining so that the child never blocks on a full pipe.
  void (async () => {
    while (!(await reader.read()).done);
  })();
  return { child, line: text.split("\n")[0] };
}

/**
 * The relay's command line as images/kind-dns-relay.service has it (its ExecStart, Deno's flags
 * included), with this checkout's Deno and dist/relay.js; BENCH_RELAY_DENO_FLAGS adds flags.
 */
function unitCommand(): string[] {
  const unit = Deno.readTextFileSync(`${repo}images/kind-dns-relay.service`);
  const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1];
  if (!execStart) throw new Error("images/kind-dns-relay.service has no ExecStart line");
  const words = execStart.split(/\s+/);
  const extra = Deno.env.get("BENCH_RELAY_DENO_FLAGS")?.split(" ").filter(Boolean) ?? [];
  return [
    deno,
    ...words.slice(1, -1).filter((word) => word !== "--cached-only"),
    ...extra,
    `${repo}dist/relay.js`,
  ];
}

function status(pid: number): { rssKb: number; hwmKb: number; anonKb: number; fileKb: number } {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1]);
  return {
    rssKb: field("VmRSS"),
    hwmKb: field("VmHWM"),
    anonKb: field("RssAnon"),
    fileKb: field("RssFile"),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;

const cpus = navigator.hardwareConcurrency;
const pin = (cpu: number) =>
  cpus > 1 && new Deno.Command("sh", { args: ["-c", "command -v taskset"] }).outputSync().success
    ? ["taskset", "-c", String(cpu)]
    : [];

const upstream = await startWithLine(
  [
    ...pin(0),
    deno,
    "run",
    "--unstable-net",
    "--allow-net",
    "--no-config",
    `${repo}test/support/fake_upstream.ts`,
  ],
  "stdout",
);
const upstreamPort = Number(upstream.line);
const relay = await startWithLine(
  [...pin(cpus > 1 ? 1 : 0), ...unitCommand()],
  "stderr",
  {
    KIND_DNS_RELAY_LISTEN: "::1",
    KIND_DNS_RELAY_PORT: "0",
    KIND_DNS_RELAY_UPSTREAM: "127.0.0.1",
    KIND_DNS_RELAY_UPSTREAM_PORT: String(upstreamPort),
  },
);
const relayPort = Number(/\]:(\d+) /.exec(relay.line)?.[1]);
// The relay's own process: with taskset in front, the child is taskset, which execs deno.
const relayPid = relay.child.pid;
await new Promise((resolve) => setTimeout(resolve, 300));
const idle = status(relayPid);

const socket = Deno.listenDatagram({ transport: "udp", hostname: "::", port: 0 });
const toUpstream: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: upstreamPort };
const toRelay: Deno.NetAddr = { transport: "udp", hostname: "::1", port: relayPort };
const buffer = new Uint8Array(65535);

async function roundTrip(query: Uint8Array, to: Deno.NetAddr): Promise<number> {
  const start = performance.now();
  await socket.send(query, to);
  await socket.receive(buffer);
  return performance.now() - start;
}

// Latency, interleaved so that noise hits both paths alike; the first queries warm up both.
const queries = Number(values.queries);
const direct: number[] = [];
const relayed: number[] = [];
for (let i = 0; i < queries + 200; i++) {
  const query = buildQuery("kind-worker", i & 0xffff);
  const a = await roundTrip(query, toUpstream);
  const b = await roundTrip(query, toRelay);
  if (i >= 200) {
    direct.push(a);
    relayed.push(b);
  }
}
direct.sort((a, b) => a - b);
relayed.sort((a, b) => a - b);

// Throughput: WINDOW queries in flight, for `seconds`.
const seconds = Number(values.seconds);
let answered = 0;
let sent = 0;
const end = performance.now() + seconds * 1000;
const started = performance.now();
const receiving = (async () => {
  while (performance.now() < end + 2000) {
    await socket.receive(buffer);
    answered++;
    if (performance.now() < end) {
      await socket.send(buildQuery("kind-worker", sent++ & 0xffff), toRelay);
    } else if (answered >= sent) {
      break;
    }
  }
})();
for (let i = 0; i < WINDOW; i++) {
  await socket.send(buildQuery("kind-worker", sent++ & 0xffff), toRelay);
}
await Promise.race([
  receiving,
  new Promise((resolve) => setTimeout(resolve, seconds * 1000 + 2500)),
]);
const elapsed = (performance.now() - started) / 1000;
const loaded = status(relayPid);
socket.close();
const dnsmasq = await compareWithDnsmasq({
  relayPort,
  relayPid,
  upstreamPort,
  pin: pin(cpus > 1 ? 1 : 0),
  status,
});
relay.child.kill("SIGKILL");
upstream.child.kill("SIGKILL");
await Promise.all([relay.child.status, upstream.child.status]);

const results = {
  command: unitCommand().map((word) => word.replace(repo, "")).join(" "),
  kind: "relay",
  date: new Date().toISOString(),
  machine: { cpus, deno: Deno.version.deno },
  setup: "loopback: relay on ::1 (dist/relay.js, one CPU), fake upstream on 127.0.0.1",
  latencyMs: {
    queries,
    direct: { p50: round(percentile(direct, 0.5)), p99: round(percentile(direct, 0.99)) },
    relayed: { p50: round(percentile(relayed, 0.5)), p99: round(percentile(relayed, 0.99)) },
    addedP50: round(percentile(relayed, 0.5) - percentile(direct, 0.5)),
    addedP99: round(percentile(relayed, 0.99) - percentile(direct, 0.99)),
  },
  throughput: {
    window: WINDOW,
    seconds: round(elapsed),
    answered,
    perSecond: Math.round(answered / elapsed),
  },
  memoryMb: {
    idleRss: round(idle.rssKb / 1024),
    loadedRss: round(loaded.rssKb / 1024),
    peakRss: round(loaded.hwmKb / 1024),
    idleAnon: round(idle.anonKb / 1024),
    idleFile: round(idle.fileKb / 1024),
    loadedAnon: round(loaded.anonKb / 1024),
    loadedFile: round(loaded.fileKb / 1024),
  },
  targets: { addedP50Ms: 0.3, perSecond: 10_000, rssMb: 40 },
  dnsmasq,
};
const ok = results.latencyMs.addedP50 <= 0.3 && results.throughput.perSecond >= 10_000 &&
  results.memoryMb.peakRss <= 40;
console.log(
  [
    `relay latency (${queries} queries, one at a time): direct p50 ${results.latencyMs.direct.p50} ms p99 ${results.latencyMs.direct.p99} ms; ` +
    `relayed p50 ${results.latencyMs.relayed.p50} ms p99 ${results.latencyMs.relayed.p99} ms; ` +
    `added p50 ${results.latencyMs.addedP50} ms p99 ${results.latencyMs.addedP99} ms (target p50 <= 0.3)`,
    `relay throughput (UDP, ${WINDOW} in flight, one CPU): ${results.throughput.perSecond} answers/s (target >= 10000)`,
    `relay memory: idle ${results.memoryMb.idleRss} MB, after load ${results.memoryMb.loadedRss} MB, peak ${results.memoryMb.peakRss} MB (target <= 40); ` +
    `anonymous/file-backed idle ${results.memoryMb.idleAnon}/${results.memoryMb.idleFile} MB, loaded ${results.memoryMb.loadedAnon}/${results.memoryMb.loadedFile} MB`,
    `relay: ${ok ? "within" : "NOT within"} the targets`,
  ].join("\n"),
);
if (dnsmasq) {
  const { relay: r, dnsmasq: d } = dnsmasq;
  console.log(
    [
      `beside dnsmasq (dnsperf, ${dnsmasq.outstanding} outstanding, ${dnsmasq.rounds} rounds of ${dnsmasq.seconds} s each):`,
      `  relay:   ${r.perSecond} answers/s, p50 ${r.p50} ms, p99 ${r.p99} ms, VmRSS ${r.rssMb} MB`,
      `  dnsmasq: ${d.perSecond} answers/s, p50 ${d.p50} ms, p99 ${d.p99} ms, VmRSS ${d.rssMb} MB`,
    ].join("\n"),
  );
} else {
  console.log("beside dnsmasq: skipped (dnsmasq or dnsperf is not installed: npm run setup)");
}
if (values.out) writeFileSync(values.out, JSON.stringify(results, null, 2) + "\n");
if (values.docs) {
  const doc = Deno.readTextFileSync(values.docs);
  writeFileSync(values.docs, replaceRelayDocsBlock(doc, renderRelayDocs(results)));
  console.log(`docs: rewrote the relay bench block of ${values.docs}`);
}
