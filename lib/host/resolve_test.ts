import assert from "node:assert/strict";
import { lookupAddress } from "./resolve.ts";

// Only names /etc/hosts answers: a test never asks a resolver off this machine.

Deno.test("lookupAddress() answers like getent ahostsv4 and ahostsv6 for localhost", async () => {
  assert.equal(await lookupAddress("localhost", 4, 5000), "127.0.0.1");
  const v6 = await lookupAddress("localhost", 6, 5000);
  // getent ahostsv6 answers ::1 where /etc/hosts has it, else the v4-mapped address (AI_V4MAPPED)
  assert.ok(v6 === "::1" || v6 === "::ffff:127.0.0.1", String(v6));
});
