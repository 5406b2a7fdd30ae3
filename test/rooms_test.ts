/**
 * The floor plan of lib/ (docs/design.md): imports point only down, from the runner to the steps
 * to the host to the shared leaves, never up and never sideways between rooms.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const LIB = fileURLToPath(new URL("../lib", import.meta.url));

/** Each room and the rooms it may import from (besides itself). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  boot: ["steps", "dns", "host", "top"],
  steps: ["host", "top"],
  dns: ["host", "top"],
  host: ["top"],
  top: [],
};

/** The room of a path inside lib/: its first folder, or `top` for the shared leaves. */
export function roomOf(path: string): string {
  const [first, ...rest] = path.split("/");
  return rest.length === 0 ? "top" : first;
}

/** Every module of lib/ (tests excluded), as paths relative to lib/. */
function modules(dir = LIB): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return modules(path);
    return name.endsWith(".ts") && !name.endsWith("_test.ts") ? [relative(LIB, path)] : [];
  });
}

/** The imports of `source` (relative to lib/) that break the plan, as `from -> to` lines. */
export function wrongArrows(source: string, text: string): string[] {
  const wrong: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)[^;]*?from "(\.[^"]+)"/gms)) {
    const target = relative(LIB, join(LIB, dirname(source), match[1]));
    const [from, to] = [roomOf(source), roomOf(target)];
    if (target.startsWith("..")) wrong.push(`${source} -> ${target} (outside lib/)`);
    else if (from !== to && !MAY_IMPORT[from].includes(to)) wrong.push(`${source} -> ${target}`);
  }
  return wrong;
}

Deno.test("lib/'s imports point only down: boot, then steps and dns, then host, then the leaves", () => {
  const wrong = modules().flatMap((path) =>
    wrongArrows(path, readFileSync(join(LIB, path), "utf8"))
  );
  assert.deepEqual(wrong, []);
});

Deno.test("wrongArrows() names an import up or sideways between rooms", () => {
  assert.deepEqual(wrongArrows("steps/cgroups.ts", 'import type { R } from "../boot/rerun.ts";'), [
    "steps/cgroups.ts -> boot/rerun.ts",
  ]);
  assert.deepEqual(wrongArrows("dns/check.ts", 'import { x } from "../steps/proxy.ts";'), [
    "dns/check.ts -> steps/proxy.ts",
  ]);
  assert.deepEqual(wrongArrows("boot/run.ts", 'import { x } from "../steps/proxy.ts";'), []);
});
