/**
 * Figures in docs/ that no generator block covers are checked against what they describe: the
 * fault report's rows and counts against test/faults/scenarios/, and the timings of the DNS
 * diagnosis examples in docs/dns.md against what the diagnosis prints for them. (docs/speed.md's
 * and docs/ipv6.md's tables are rendered from bench/results/ and checked in test/docs_test.ts;
 * docs/package.md's sizes in test/e2e/package.bats, which has the tarball.)
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Diagnosis, ProbeSet } from "../lib/dns/diagnose/facts.ts";
import { renderReport } from "../lib/dns/diagnose/report.ts";
import type { ProbeResult } from "../lib/dns/probe.ts";

const REPO = path.resolve(import.meta.dirname!, "..");

function read(file: string): string {
  return fs.readFileSync(path.join(REPO, file), "utf8");
}

/** The first cells of docs/reliability.md's scenario table, and its summary's scenario counts. */
function reliabilityRows(text: string): { names: string[]; counted: string[] } {
  const table = text.slice(text.indexOf("\n## Scenarios\n")).split("\n\n| scenario ")[1] ?? "";
  const names = [...table.split("\n\n")[0].matchAll(/^\| ([a-z][a-z0-9-]*) +\|/gm)].map((m) =>
    m[1]
  );
  const summary = /^\| scenarios +\| (\d+) +\| (\d+) +\|/m.exec(text);
  return { names, counted: summary?.slice(1) ?? [] };
}

Deno.test("docs/reliability.md has one row for each fault scenario, and its summary counts them all", () => {
  const scenarios = fs.readdirSync(path.join(REPO, "test/faults/scenarios"))
    .filter((file) => file.endsWith(".sh")).map((file) => file.slice(0, -3)).sort();
  const { names, counted } = reliabilityRows(read("docs/reliability.md"));
  assert.deepEqual(
    [...names].sort(),
    scenarios,
    "docs/reliability.md is stale: rerun test/faults/report.sh",
  );
  assert.deepEqual(counted, [String(scenarios.length), String(scenarios.length)]);
});

/** A probe line of the diagnosis (`probe from the node -> ...`), taken apart into its values. */
function parseProbeLine(line: string): { set: ProbeSet; server: string; name: string } {
  const head = /^probe from the (node|pod) +-> ([0-9.]+):53 for (\S+): (.*)$/.exec(line);
  if (!head) throw new Error(`Not a probe line: ${line}`);
  const [, from, server, name, rest] = head;
  const notSent = /^not sent: (.*)$/.exec(rest);
  if (notSent) return { set: { from: from as "node" | "pod", notSent: notSent[1] }, server, name };
  const results = rest.split("; ").map((part): ProbeResult => {
    const answered = /^(UDP|TCP) answered in ([0-9.]+) ms \((\S+)((?: [0-9.]+)*)\)$/.exec(part);
    if (answered) {
      const [, transport, ms, status, addresses] = answered;
      return {
        transport: transport as "UDP" | "TCP",
        answered: true,
        ms: Number(ms),
        response: {
          id: 1,
          rcode: 0,
          status,
          authoritative: false,
          truncated: false,
          question: { name: `${name}.`, type: 1, class: 1 },
          answers: addresses.trim().split(" ").filter(Boolean).map((data) => ({
            name: `${name}.`,
            type: 1,
            ttl: 600,
            data,
          })),
        },
      };
    }
    const failed = /^(UDP|TCP) failed after ([0-9.]+) ms: (.*)$/.exec(part);
    if (!failed) throw new Error(`Not a probe result: ${part}`);
    return {
      transport: failed[1] as "UDP" | "TCP",
      answered: false,
      ms: Number(failed[2]),
      error: failed[3],
    };
  });
  return { set: { from: from as "node" | "pod", results }, server, name };
}

/** The probe line renderReport() prints for `set`. */
function renderedProbeLine(set: ProbeSet, server: string, name: string): string {
  const diagnosis: Diagnosis = {
    runtime: "Docker",
    backends: [],
    rulesHostIps: [],
    resolvConf: { nameservers: [server], search: [] },
    nameserver: server,
    nameserverIsRulesHostIp: true,
    routeLocalnet: {},
    name,
    probes: [set],
    verdict: "",
    status: 0,
  };
  return renderReport(diagnosis).split("\n").find((line) => line.startsWith("probe from"))!;
}

Deno.test("docs/dns.md's example probe lines, timings included, are what the diagnosis prints for them", () => {
  const lines = read("docs/dns.md").split("\n").filter((line) => line.startsWith("probe from"));
  assert.ok(lines.length >= 5, `${lines.length} probe lines in docs/dns.md`);
  for (const line of lines) {
    const { set, server, name } = parseProbeLine(line);
    assert.equal(renderedProbeLine(set, server, name), line);
  }
});

Deno.test("parseProbeLine() refuses a line the diagnosis would not print", () => {
  assert.throws(
    () =>
      parseProbeLine("probe from the node -> 10.0.0.1:53 for a: UDP answered in 1,5 ms (NOERROR)"),
    /Not a probe result: UDP answered in 1,5 ms/,
  );
});
