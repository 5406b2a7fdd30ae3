import assert from "node:assert/strict";
import { clusterSpanMillis, targetLine } from "../bench/report.ts";

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
    targetLine("v1", { ratio: 0.65, peakRssMb: 37.2, programs: 7 }),
    "targets (cgroup v1): ratio 0.65 <= 0.7 met; peak RSS MB 37.2 <= 36 MISSED; programs 7 <= 7 met",
  );
  assert.equal(
    targetLine("v2", { peakRssMb: 30 }),
    "targets (cgroup v2 view): ratio n/a (target <= 0.95); peak RSS MB 30 <= 36 met; programs n/a (target <= 7)",
  );
});
