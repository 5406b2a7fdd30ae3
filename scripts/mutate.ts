/**
 * Mutation check: applies each mutant of scripts/mutants.ts (one search/replace in lib/) to a
 * temporary copy of this checkout, runs the unit tests of the mutated module there, and prints
 * which test killed it. Never touches the working tree.
 *
 *   npm run mutate                 every mutant, two at a time
 *   npm run mutate -- ID...        only these mutants
 *   npm run mutate -- --list       the mutants, not run
 *
 * Exit status 1 when a mutant survives that is not listed as a known survivor, when a known
 * survivor is killed (the list must be kept true), when a mutant's search text is not found
 * exactly once in its file ("stale": the code moved on), or when the unmutated tests fail.
 */
import { type Mutant, MUTANTS } from "./mutants.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const WORKERS = 2;
/** Bound on one mutant's test run: a mutant that hangs a test counts as killed. */
const TEST_TIMEOUT_MS = 120_000;

/** What became of one mutant. */
type Outcome =
  | { kind: "killed"; by: string }
  | { kind: "survived" }
  | { kind: "stale"; why: string };

/** The test files run for a mutant: lib/x.ts's lib/x_test.ts beside it, if any, and the mutant's extras. */
export function testsFor(mutant: Mutant, exists: (path: string) => boolean): string[] {
  const own = mutant.file.replace(/\.ts$/, "_test.ts");
  return [...new Set([...(exists(own) ? [own] : []), ...(mutant.tests ?? [])])];
}

/** The names of the tests that failed, from `deno test` output without colours. */
export function failedTests(output: string): string[] {
  return [...output.matchAll(/^(.+) \.\.\. FAILED\b/gm)].map((match) => match[1].trim());
}

/** `text` with its one occurrence of `search` replaced, or why that cannot be done. */
export function applyMutant(text: string, mutant: Mutant): { text: string } | { stale: string } {
  const count = text.split(mutant.search).length - 1;
  if (count === 0) return { stale: "search text not found" };
  if (count > 1) return { stale: `search text found ${count} times` };
  return { text: text.replace(mutant.search, () => mutant.replace) };
}

function exists(path: string): boolean {
  try {
    Deno.statSync(`${ROOT}/${path}`);
    return true;
  } catch {
    return false;
  }
}

/** A copy in `dir` of the checkout's files (tracked and new, plus dist/), node_modules linked. */
async function copyCheckout(dir: string): Promise<string> {
  Deno.mkdirSync(dir);
  const { stdout } = await new Deno.Command("git", {
    args: ["-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
  }).output();
  const files = new TextDecoder().decode(stdout).split("\0").filter((file) => file !== "");
  for (const file of files) {
    // node_modules is linked below (a linked node_modules is no ignored directory to git).
    if (file === "node_modules" || !exists(file)) continue; // or deleted in the working tree
    const target = `${dir}/${file}`;
    Deno.mkdirSync(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    if (Deno.lstatSync(`${ROOT}/${file}`).isSymlink) {
      Deno.symlinkSync(Deno.readLinkSync(`${ROOT}/${file}`), target);
    } else {
      Deno.copyFileSync(`${ROOT}/${file}`, target);
    }
  }
  if (exists("dist")) {
    await new Deno.Command("cp", { args: ["-a", `${ROOT}/dist`, `${dir}/dist`] }).output();
  }
  Deno.symlinkSync(`${ROOT}/node_modules`, `${dir}/node_modules`);
  return dir;
}

/** Runs `tests` in the copy `dir`; true with the failed tests' names when any failed. */
async function runTests(dir: string, tests: string[]): Promise<{ ok: boolean; failed: string[] }> {
  // No type check: a mutant is a change of behaviour, and a type error would kill it unseen.
  const command = new Deno.Command(`${dir}/node_modules/.bin/deno`, {
    args: ["test", "-A", "--no-check", "--quiet", ...tests],
    cwd: dir,
    // Deno's cache of the copies' compiled modules goes with the copies, not into ~/.cache.
    env: { NO_COLOR: "1", DENO_DIR: `${dir}/../deno-dir` },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(TEST_TIMEOUT_MS),
  });
  const { code, signal, stdout, stderr } = await command.output();
  const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  if (signal !== null) return { ok: false, failed: [`(timed out after ${TEST_TIMEOUT_MS} ms)`] };
  const failed = failedTests(output);
  if (code !== 0 && failed.length === 0) failed.push(`(deno test exited ${code})`);
  return { ok: code === 0, failed };
}

async function runMutant(dir: string, mutant: Mutant): Promise<Outcome> {
  const path = `${dir}/${mutant.file}`;
  const original = Deno.readTextFileSync(`${ROOT}/${mutant.file}`);
  const applied = applyMutant(original, mutant);
  if ("stale" in applied) return { kind: "stale", why: applied.stale };
  const tests = testsFor(mutant, exists);
  if (tests.length === 0) return { kind: "stale", why: "no test file to run" };
  Deno.writeTextFileSync(path, applied.text);
  try {
    const { ok, failed } = await runTests(dir, tests);
    return ok ? { kind: "survived" } : { kind: "killed", by: failed[0] };
  } finally {
    Deno.writeTextFileSync(path, original);
  }
}

function clipped(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 3)}...`;
}

async function main(args: string[]): Promise<number> {
  if (args.includes("--list")) {
    for (const m of MUTANTS) console.log(`${m.id.padEnd(28)} ${m.file.padEnd(24)} ${m.why}`);
    return 0;
  }
  const unknown = args.filter((id) => !MUTANTS.some((m) => m.id === id));
  if (unknown.length > 0) {
    console.error(`Unknown mutant: ${unknown.join(", ")} (npm run mutate -- --list)`);
    return 2;
  }
  const ids = new Set(MUTANTS.map((m) => m.id));
  if (ids.size !== MUTANTS.length) {
    console.error("scripts/mutants.ts: two mutants share an id");
    return 2;
  }
  const chosen = args.length > 0 ? MUTANTS.filter((m) => args.includes(m.id)) : MUTANTS;
  const work = await Deno.makeTempDir({ prefix: "kets-mutate-" });
  try {
    const dirs = await Promise.all(
      Array.from({ length: WORKERS }, (_, i) => copyCheckout(`${work}/copy-${i}`)),
    );
    // Without a mutant every test run here must pass, or every mutant would look killed.
    const baseline = [...new Set(chosen.flatMap((m) => testsFor(m, exists)))].sort();
    const clean = await runTests(dirs[0], baseline);
    if (!clean.ok) {
      console.error(`The unmutated tests fail (${clean.failed.join("; ")}): no mutant was run.`);
      return 1;
    }
    const outcomes = new Map<string, Outcome>();
    const queue = [...chosen];
    await Promise.all(dirs.map(async (dir) => {
      for (let mutant = queue.shift(); mutant; mutant = queue.shift()) {
        outcomes.set(mutant.id, await runMutant(dir, mutant));
      }
    }));
    return report(chosen, outcomes);
  } finally {
    Deno.removeSync(work, { recursive: true });
  }
}

/** Prints the table and the total line; returns the exit status. */
function report(chosen: readonly Mutant[], outcomes: Map<string, Outcome>): number {
  let killed = 0, known = 0, bad = 0;
  console.log(`${"mutant".padEnd(28)} ${"module".padEnd(24)} killed by / SURVIVED`);
  for (const mutant of chosen) {
    const outcome = outcomes.get(mutant.id)!;
    let verdict: string;
    if (outcome.kind === "stale") {
      bad++;
      verdict = `STALE: ${outcome.why} (update scripts/mutants.ts)`;
    } else if (outcome.kind === "killed") {
      killed++;
      verdict = clipped(outcome.by, 90);
      if (mutant.survives) {
        bad++;
        verdict += " (listed as a known survivor: take it off the list)";
      }
    } else if (mutant.survives) {
      known++;
      verdict = `survived, known: ${mutant.survives}`;
    } else {
      bad++;
      verdict = "SURVIVED";
    }
    console.log(`${mutant.id.padEnd(28)} ${mutant.file.padEnd(24)} ${verdict}`);
  }
  const stale = chosen.filter((m) => outcomes.get(m.id)!.kind === "stale").length;
  const survived = chosen.length - killed - stale;
  console.log(
    `${chosen.length} mutants: ${killed} killed, ${survived} survived (${known} known), ` +
      `${stale} stale; ${bad === 0 ? "ok" : `${bad} to fix`}`,
  );
  return bad === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
