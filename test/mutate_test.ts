import assert from "node:assert/strict";
import { applyMutant, failedTests, testsFor } from "../scripts/mutate.ts";
import { type Mutant, MUTANTS } from "../scripts/mutants.ts";

const MUTANT: Mutant = {
  id: "x-flip",
  file: "lib/x.ts",
  search: "a > b",
  replace: "a < b",
  why: "flipped",
};

Deno.test("applyMutant() replaces the one occurrence of the search text, literally", () => {
  assert.deepEqual(applyMutant("if (a > b) return;\n", MUTANT), { text: "if (a < b) return;\n" });
  const dollar = { ...MUTANT, replace: "$& $1" };
  assert.deepEqual(applyMutant("a > b", dollar), { text: "$& $1" });
});

Deno.test("applyMutant() calls a mutant stale when its search text is missing or not unique", () => {
  assert.deepEqual(applyMutant("if (a >= b) return;\n", MUTANT), {
    stale: "search text not found",
  });
  assert.deepEqual(applyMutant("a > b; a > b", MUTANT), { stale: "search text found 2 times" });
});

Deno.test("testsFor() runs the module's own test file, if any, and the mutant's extras once", () => {
  const present = (path: string) => path === "lib/x_test.ts";
  assert.deepEqual(testsFor({ ...MUTANT, tests: ["test/y_test.ts"] }, present), [
    "lib/x_test.ts",
    "test/y_test.ts",
  ]);
  assert.deepEqual(testsFor({ ...MUTANT, tests: ["lib/x_test.ts"] }, present), [
    "lib/x_test.ts",
  ]);
  assert.deepEqual(testsFor(MUTANT, () => false), []);
});

Deno.test("failedTests() reads the failed tests' names from deno test's report", () => {
  const output = [
    "running 2 tests from ./test/x_test.ts",
    "x() keeps a ... b ... ok (1ms)",
    "x() flips nothing ... FAILED (2ms)",
    "",
    " ERRORS ",
  ].join("\n");
  assert.deepEqual(failedTests(output), ["x() flips nothing"]);
});

Deno.test("every mutant has a unique id and names a module of lib/", () => {
  const ids = MUTANTS.map((mutant) => mutant.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const mutant of MUTANTS) {
    assert.match(mutant.file, /^lib\/([a-z_]+\/)*[a-z_]+\.ts$/, mutant.id);
  }
});
