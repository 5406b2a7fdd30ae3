import assert from "node:assert/strict";
import { Handoff, newHandoffs } from "./handoffs.ts";

Deno.test("a handoff gives its taker the value once given, and undefined before", () => {
  const handoff = new Handoff<number>("iptables", "network_magic");
  assert.equal(handoff.take(), undefined);
  handoff.give(3);
  assert.equal(handoff.take(), 3);
});

Deno.test("a handoff given twice throws, naming its producer and its taker", () => {
  const handoff = new Handoff<boolean>("dns_check (prefetch)", "network_magic");
  handoff.give(true);
  assert.throws(
    () => handoff.give(true),
    /^Error: dns_check \(prefetch\) gave network_magic its value twice$/,
  );
});

Deno.test("newHandoffs() gives every run a fresh, empty set", () => {
  const first = newHandoffs();
  first.dnsCheckWanted.give(true);
  assert.equal(newHandoffs().dnsCheckWanted.take(), undefined);
});
