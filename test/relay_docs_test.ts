/** docs/ipv6.md's figures are those of bench/results/relay.json, rendered by bench/relay_report.ts. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  relayDocsBlock,
  type RelayResults,
  renderRelayDocs,
  replaceRelayDocsBlock,
} from "../bench/relay_report.ts";
import { parseDnsperf } from "../bench/relay_dnsmasq.ts";
import { REPO } from "./support/bundle.ts";

const read = (path: string) => readFileSync(join(REPO, path), "utf8");

Deno.test("docs/ipv6.md's relay bench block is what bench/relay_report.ts renders from relay.json", () => {
  const results = JSON.parse(read("bench/results/relay.json")) as RelayResults;
  const block = relayDocsBlock(read("docs/ipv6.md"));
  assert.ok(block !== undefined, "docs/ipv6.md has no relay bench block");
  assert.equal(
    block,
    renderRelayDocs(results),
    "docs/ipv6.md disagrees with bench/results/relay.json: run `npm run bench -- --relay --update`",
  );
});

Deno.test("renderRelayDocs() shows dnsmasq's row and marks each target the relay misses", () => {
  const results = JSON.parse(read("bench/results/relay.json")) as RelayResults;
  const figures = { p50: 0.3, p99: 0.5, perSecond: 30_000, rssMb: 4.7, roundsPerSecond: [] };
  const block = renderRelayDocs({
    ...results,
    dnsmasq: {
      tools: { dnsmasq: "Dnsmasq version 2.90", dnsperf: "Version 2.10.0" },
      outstanding: 64,
      rounds: 3,
      seconds: 3,
      relay: { ...figures, p50: 0.4, perSecond: 12_000, rssMb: 50, anonMb: 20, fileMb: 30 },
      dnsmasq: figures,
    },
  });
  assert.match(block, /\| dnsmasq \| 0\.300 ms \| 0\.500 ms \| 30,000 \| 4\.7 MB \|/);
  assert.match(
    block,
    /≤ 0\.350 ms \*\*missed\*\* \| ≤ 0\.750 ms met \| ≥ 30,000 \*\*missed\*\*/,
  );
  assert.equal(replaceRelayDocsBlock(`a\n${block}b\n`, block), `a\n${block}b\n`);
  assert.throws(() => replaceRelayDocsBlock("no block", block), /Cannot find/);
});

Deno.test("parseDnsperf() reads answers per second and each query's latency in ms", () => {
  const output = [
    "[Status] Sending queries (to [::1]:5302)",
    "> NOERROR kind-worker A 0.000600",
    "> SERVFAIL kind-worker A 0.002000",
    "  Queries per second:   19450.041575",
  ].join("\n");
  assert.deepEqual(parseDnsperf(output), { perSecond: 19450.041575, latencies: [0.6, 2] });
  assert.throws(() => parseDnsperf("nothing"), /Queries per second/);
});
