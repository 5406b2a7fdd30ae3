/**
 * The block of docs/ipv6.md that `npm run bench -- --relay --update` writes from
 * bench/results/relay.json (test/relay_docs_test.ts checks that the two agree).
 */
import type { DnsmasqComparison } from "./relay_dnsmasq.ts";
import { docsBlock, replaceDocsBlock } from "./docs_block.ts";

/** The fields of bench/results/relay.json the docs show. */
export interface RelayResults {
  date: string;
  machine: { cpus: number; deno: string };
  latencyMs: {
    queries: number;
    direct: { p50: number; p99: number };
    relayed: { p50: number; p99: number };
    addedP50: number;
    addedP99: number;
  };
  throughput: { window: number; seconds: number; answered: number; perSecond: number };
  memoryMb: {
    idleRss: number;
    loadedRss: number;
    idleAnon: number;
    idleFile: number;
    loadedAnon: number;
    loadedFile: number;
  };
  dnsmasq?: DnsmasqComparison;
}

/** The first line of the generated block. */
export const RELAY_DOCS_BEGIN =
  "<!-- relay-bench:begin: written by `npm run bench -- --relay --update` from bench/results/relay.json; do not edit -->";
/** Its last line. */
export const RELAY_DOCS_END = "<!-- relay-bench:end -->";

const fmt = (x: number, digits = 3) => x.toFixed(digits);
const thousands = (x: number) => Math.round(x).toLocaleString("en-US");

/** The version number in a program's version line (`Dnsmasq version 2.90  Copyright ...`). */
const version = (line: string) => /version (\S+)/i.exec(line)?.[1] ?? "(version unknown)";

function dnsmasqTable(c: DnsmasqComparison): string[] {
  const { relay: r, dnsmasq: d } = c;
  const met = (ok: boolean) => ok ? "met" : "**missed**";
  return [
    `Beside dnsmasq ${version(c.tools.dnsmasq)} (\`--cache-size=0\`), same upstream, same CPU,`,
    `loaded in turn by dnsperf ${version(c.tools.dnsperf)} (${c.outstanding} outstanding, ` +
    `${c.rounds} rounds of ${c.seconds} s each, interleaved):`,
    "",
    "| forwarder | p50 | p99 | answers/s (median round) | VmRSS after the load |",
    "| --- | --- | --- | --- | --- |",
    `| the relay | ${fmt(r.p50)} ms | ${fmt(r.p99)} ms | ${thousands(r.perSecond)} | ` +
    `${fmt(r.rssMb, 1)} MB (anon ${fmt(r.anonMb, 1)}, file-backed ${fmt(r.fileMb, 1)}) |`,
    `| dnsmasq | ${fmt(d.p50)} ms | ${fmt(d.p99)} ms | ${thousands(d.perSecond)} | ` +
    `${fmt(d.rssMb, 1)} MB |`,
    `| relay's target | ≤ ${fmt(d.p50 + 0.05)} ms ${met(r.p50 <= d.p50 + 0.05)} | ` +
    `≤ ${fmt(d.p99 * 1.5)} ms ${met(r.p99 <= d.p99 * 1.5)} | ` +
    `≥ ${thousands(d.perSecond)} ${met(r.perSecond >= d.perSecond)} | ` +
    `≤ 40 MB ${met(r.rssMb <= 40)} |`,
    "",
  ];
}

/** The markdown between RELAY_DOCS_BEGIN and RELAY_DOCS_END, from the results alone. */
export function renderRelayDocs(results: RelayResults): string {
  const { latencyMs: l, throughput: t, memoryMb: m } = results;
  const lines = [
    RELAY_DOCS_BEGIN,
    `Run of ${
      results.date.slice(0, 10)
    }, ${results.machine.cpus} CPUs, Deno ${results.machine.deno}.`,
    "",
    ...(results.dnsmasq ? dnsmasqTable(results.dnsmasq) : []),
    "The relay alone, on loopback in front of the tests' fake upstream:",
    "",
    "| what | measured | target |",
    "| --- | --- | --- |",
    `| added latency per query, p50 (relayed ${fmt(l.relayed.p50)} − direct ` +
    `${fmt(l.direct.p50)} ms) | ${fmt(l.addedP50)} ms | <= 0.3 ms |`,
    `| added latency per query, p99 (${fmt(l.relayed.p99)} − ${fmt(l.direct.p99)} ms) | ` +
    `${fmt(l.addedP99)} ms | — |`,
    `| UDP answers per second, one CPU, ${t.window} in flight, ${Math.round(t.seconds)} s | ` +
    `${thousands(t.perSecond)} | >= 10,000 |`,
    `| RSS idle (started, no query yet) | ${fmt(m.idleRss, 1)} MB (anon ${fmt(m.idleAnon, 1)}, ` +
    `file-backed ${fmt(m.idleFile, 1)}) | <= 40 MB |`,
    `| RSS after ${Math.round(t.seconds)} s at full load (${thousands(t.answered)} queries) | ` +
    `${fmt(m.loadedRss, 1)} MB (anon ${fmt(m.loadedAnon, 1)}, file-backed ` +
    `${fmt(m.loadedFile, 1)}) | <= 40 MB${m.loadedRss <= 40 ? "" : ": **not met**"} |`,
    "",
    `Latency: ${thousands(l.queries)} queries one at a time, direct and relayed interleaved.`,
    RELAY_DOCS_END,
  ];
  return lines.join("\n") + "\n";
}

/** The generated block of `doc`, markers included, or undefined when it has none. */
export function relayDocsBlock(doc: string): string | undefined {
  return docsBlock(doc, RELAY_DOCS_BEGIN, RELAY_DOCS_END);
}

/** `doc` with its generated block replaced by `block`; throws when the markers are missing. */
export function replaceRelayDocsBlock(doc: string, block: string): string {
  return replaceDocsBlock(doc, block, {
    begin: RELAY_DOCS_BEGIN,
    end: RELAY_DOCS_END,
    what: "relay bench block",
  });
}
