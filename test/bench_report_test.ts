import assert from "node:assert/strict";
import { clusterSpanMillis, relayCost, targetLine } from "../bench/report.ts";

Deno.test("clusterSpanMillis() runs from the first node's start to the last node's exec", () => {
  // t0 in ns since the epoch, t1 in seconds with microseconds, as bench/run.sh's command prints
  const logs = [
    "BENCH t1=1000.150000 t0=1000000000000\n",
    "BENCH t1=1000.300000 t0=1000020000000\n",
    "noise\nBENCH t1=1000.200000 t0=1000010000000\n",
  ];
  assert.equal(clusterSpanMillis(logs), 300);
  assert.equal(clusterSpanMillis([...logs, "a node that never got there\n"]), undefined);
  assert.equal(clusterSpanMillis([]), undefined);
});

Deno.test("targetLine() says which targets a view met and which it missed", () => {
  assert.equal(
    targetLine("v1", { ratio: 0.65, programs: 6 }),
    "targets (cgroup v1): ratio 0.65 <= 0.6 MISSED; programs 6 <= 6 met",
  );
  assert.equal(
    targetLine("v2", { ratio: 0.9 }),
    "targets (cgroup v2 view): ratio 0.9 <= 0.9 met; programs n/a (target <= 6)",
  );
});

Deno.test("relayCost() is the median difference of complete pairs, beside the medians of each side", () => {
  assert.deepEqual(
    relayCost([
      { withRelay: 110, without: 100 },
      { withRelay: 130, without: 101 },
      { withRelay: 104, without: 102 },
      { withRelay: 150 },
    ]),
    { pairs: 3, withRelay: 110, without: 101, addedMs: 10 },
  );
  assert.deepEqual(relayCost([{ without: 100 }]), { pairs: 0 });
});
