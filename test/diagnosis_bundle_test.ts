/**
 * The DNS diagnosis is a bundle of its own (dist/diagnose.js, scripts/build.mjs): the boot's bundle
 * holds none of it, and `KIND_ENTRYPOINT_DIAGNOSE` still runs it, laid out as the image lays them
 * out.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBundle, DENO, REPO, testEnvironment } from "./support/bundle.ts";

buildBundle();

const dist = (name: string) => readFileSync(join(REPO, "dist", name), "utf8");

/**
 * Names and strings only the diagnosis has (lib/dns/diagnose/): its functions, its namespace's and
 * report's words.
 */
const DIAGNOSIS_MARKS = [
  "function renderReport(",
  "function kernelInNetns(",
  "Cannot return from the network namespace",
  "function parseIptablesDnsRules(",
  "function probeFromPod(",
  "kets-diag-",
  "kind-entrypoint-ts DNS diagnosis",
];

Deno.test("the boot's bundle holds none of the diagnosis; diagnose.js holds it", () => {
  const diagnosis = dist("diagnose.js");
  const boot = dist("entrypoint.js");
  for (const mark of DIAGNOSIS_MARKS) {
    assert.ok(!boot.includes(mark), `dist/entrypoint.js holds ${JSON.stringify(mark)}`);
    assert.ok(diagnosis.includes(mark), `dist/diagnose.js lacks ${JSON.stringify(mark)}`);
  }
});

/** A directory laid out like the image's, with an empty PATH directory beside it. */
const dir = mkdtempSync(join(tmpdir(), "kind-diagnosis-bundle-test-"));
globalThis.addEventListener("unload", () => rmSync(dir, { recursive: true, force: true }));
for (const name of ["entrypoint.js", "diagnose.js"]) {
  copyFileSync(join(REPO, "dist", name), join(dir, name));
}
const emptyPath = join(dir, "no-programs");
mkdirSync(emptyPath);

/**
 * Runs `program` (in `dir`) with `KIND_ENTRYPOINT_DIAGNOSE=1` and no program on PATH: no firewall
 * tool is found, so no rules are read, nothing is probed and no namespace is made on this machine.
 */
function diagnoseWith(program: string) {
  return spawnSync(DENO, ["run", "-A", "--no-config", join(dir, program)], {
    encoding: "utf8",
    env: testEnvironment({ KIND_ENTRYPOINT_DIAGNOSE: "1", PATH: emptyPath }),
  });
}

Deno.test("KIND_ENTRYPOINT_DIAGNOSE run through entrypoint.js loads diagnose.js beside it", () => {
  const result = diagnoseWith("entrypoint.js");
  assert.match(result.stdout, /^kind-entrypoint-ts DNS diagnosis \(KIND_ENTRYPOINT_DIAGNOSE=1\)/);
  assert.match(result.stdout, /iptables-nft: not read \(iptables-nft-save is not in PATH\)/);
  assert.match(result.stdout, /^verdict: /m);
  assert.doesNotMatch(result.stderr, /ERROR/);
});
