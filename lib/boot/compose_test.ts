import assert from "node:assert/strict";
import { checkSteps, insertAfter, insertBefore, replaceStep } from "./compose.ts";
import { readSwitches } from "./switches.ts";
import { KIND_STEPS } from "../../mod.ts";

const names = (steps: readonly { name: string }[]) => steps.map((step) => step.name);
const step = (name: string) => ({ name, run() {} });

Deno.test("KIND_STEPS are the steps entrypoint.ts runs, in kind's order, then the DNS check", () => {
  assert.deepEqual(names(KIND_STEPS), [
    "userns",
    "containerd",
    "proxy",
    "mount",
    "cgroup",
    "machine_id",
    "product_name",
    "product_uuid",
    "iptables",
    "network_magic",
    "dns_check",
  ]);
});

Deno.test("insertBefore() and insertAfter() put steps exactly around their anchor", () => {
  const base = [step("a"), step("b"), step("c")];
  assert.deepEqual(names(insertBefore(base, "a", step("x"))), ["x", "a", "b", "c"]);
  assert.deepEqual(names(insertBefore(base, "c", step("x"), step("y"))), ["a", "b", "x", "y", "c"]);
  assert.deepEqual(names(insertAfter(base, "a", step("x"), step("y"))), ["a", "x", "y", "b", "c"]);
  assert.deepEqual(names(insertAfter(base, "c", step("x"))), ["a", "b", "c", "x"]);
  // The input list is left as it was.
  assert.deepEqual(names(base), ["a", "b", "c"]);
});

Deno.test("replaceStep() swaps one step and keeps the others' order", () => {
  const base = [step("a"), step("b"), step("c")];
  const mine = step("b");
  const replaced = replaceStep(base, "b", mine);
  assert.deepEqual(names(replaced), ["a", "b", "c"]);
  assert.equal(replaced[1], mine);
  assert.deepEqual(names(replaceStep(base, "b", step("z"))), ["a", "z", "c"]);
});

Deno.test("composing refuses a missing anchor, a duplicate and a name KIND_ENTRYPOINT_STEPS cannot take", () => {
  assert.throws(() => insertAfter([step("a")], "b", step("x")), {
    message: 'No step is named "b" (steps: a)',
  });
  assert.throws(() => insertBefore([step("a")], "a", step("a")), {
    message: "Two steps are named a",
  });
  assert.throws(() => replaceStep([step("a"), step("b")], "a", step("b")), /named b/);
  for (const bad of ["", "Mirror", "my-step", "a,b", "a b", "1st"]) {
    assert.throws(() => checkSteps([step(bad)]), /lower-case letters, digits and underscores/);
  }
});

Deno.test("KIND_ENTRYPOINT_STEPS takes the names of a composed entrypoint's own steps", () => {
  const steps = insertAfter(KIND_STEPS, "containerd", step("registry_mirror"));
  const env = { KIND_ENTRYPOINT_STEPS: "containerd,registry_mirror" };
  assert.deepEqual(
    readSwitches(env, steps).KIND_ENTRYPOINT_STEPS,
    new Set(["containerd", "registry_mirror"]),
  );
  // kind's entrypoint has no such step.
  assert.throws(() => readSwitches(env, KIND_STEPS), /unknown steps: registry_mirror/);
});
