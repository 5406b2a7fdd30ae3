import assert from "node:assert/strict";
import { after } from "./timer.ts";

Deno.test("after() calls its function once the time has passed, and a cancelled timer never does", async () => {
  const calls: string[] = [];
  const start = performance.now();
  after(30, () => calls.push("kept"));
  after(10, () => calls.push("cancelled")).cancel();
  await new Promise<void>((resolve) => after(60, resolve));
  assert.deepEqual(calls, ["kept"]);
  assert.ok(performance.now() - start >= 55);
});
