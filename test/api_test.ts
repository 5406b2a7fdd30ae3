/**
 * The versioned surface: what `kind-entrypoint-ts` (mod.ts) and `kind-entrypoint-ts/testing`
 * (testing.ts) export, by name and kind, recorded per version in test/api/VERSION.json.
 * An export that disappears or changes kind fails here unless package.json's version says a
 * breaking change; a new export fails until it is recorded.
 *
 * Record the exports of a new version (or a new export in this one) with
 * `KETS_API_SNAPSHOT=update node_modules/.bin/deno test -A test/api_test.ts`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const SNAPSHOTS = join(REPO, "test/api");
/** The package's entry points and the module behind each. */
const ENTRIES: Record<string, string> = {
  "kind-entrypoint-ts": "mod.ts",
  "kind-entrypoint-ts/testing": "testing.ts",
};

/** How a user can use an export: call or construct it, read it, or name it as a type. */
type Kind = "function" | "class" | "const" | "type" | string;
/** Entry point -> export name -> kind. */
type Surface = Record<string, Record<string, Kind>>;

/** The kind of a `deno doc` declaration: interfaces and type aliases are both types. */
function kindOf(docKind: string): Kind {
  if (docKind === "variable") return "const";
  if (docKind === "interface" || docKind === "typeAlias") return "type";
  return docKind;
}

/** The exports of the entry points as `deno doc --json` sees them. */
function currentSurface(): Surface {
  const result = spawnSync(Deno.execPath(), ["doc", "--json", ...Object.values(ENTRIES)], {
    cwd: REPO,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  assert.equal(result.status, 0, result.stderr);
  const doc = JSON.parse(result.stdout) as {
    nodes: Record<string, { symbols: { name: string; declarations: { kind: string }[] }[] }>;
  };
  const surface: Surface = {};
  for (const [entry, file] of Object.entries(ENTRIES)) {
    const node = doc.nodes[new URL(file, `file://${REPO}`).href];
    assert.ok(node, `deno doc has no ${file}`);
    surface[entry] = Object.fromEntries(
      node.symbols.map((symbol) => [symbol.name, kindOf(symbol.declarations[0].kind)]).sort(),
    );
  }
  return surface;
}

/** What changed from `before` to `after`: exports removed, exports whose kind changed, exports added. */
function surfaceChanges(before: Surface, after: Surface) {
  const removed: string[] = [], changed: string[] = [], added: string[] = [];
  for (const entry of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const was = before[entry] ?? {}, is = after[entry] ?? {};
    for (const [name, kind] of Object.entries(was)) {
      if (!(name in is)) removed.push(`${entry}: ${name} (${kind})`);
      else if (is[name] !== kind) changed.push(`${entry}: ${name} (${kind} -> ${is[name]})`);
    }
    for (const [name, kind] of Object.entries(is)) {
      if (!(name in was)) added.push(`${entry}: ${name} (${kind})`);
    }
  }
  return { removed, changed, added };
}

/** The numbers of a version `MAJOR.MINOR.PATCH`. */
function parseVersion(version: string): [number, number, number] {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  assert.ok(match, `${version} is not MAJOR.MINOR.PATCH`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** Orders two versions (negative when `a` is older). */
function compareVersions(a: string, b: string): number {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** Whether going from `from` to `to` may break users: a new major, or a new minor below 1.0. */
function breakingBump(from: string, to: string): boolean {
  const [a, b] = [parseVersion(from), parseVersion(to)];
  return b[0] > a[0] || (b[0] === 0 && a[0] === 0 && b[1] > a[1]);
}

function snapshotPath(version: string): string {
  return join(SNAPSHOTS, `${version}.json`);
}

function readSnapshot(version: string): Surface {
  return JSON.parse(readFileSync(snapshotPath(version), "utf8"));
}

/** The versions recorded in test/api/, oldest first. */
function recordedVersions(): string[] {
  return readdirSync(SNAPSHOTS).filter((name) => name.endsWith(".json"))
    .map((name) => name.slice(0, -".json".length)).sort(compareVersions);
}

const VERSION: string = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version;
const HOW = "KETS_API_SNAPSHOT=update node_modules/.bin/deno test -A test/api_test.ts";

Deno.test(`mod.ts and testing.ts export what test/api/${VERSION}.json records`, () => {
  const current = currentSurface();
  const recorded = existsSync(snapshotPath(VERSION)) ? readSnapshot(VERSION) : undefined;
  const { removed, changed, added } = surfaceChanges(recorded ?? {}, current);
  // Within one version exports may only be added: anything else is a breaking change.
  assert.deepEqual(
    [...removed, ...changed],
    [],
    `exports removed or changed in kind without a version change: bump package.json's version ` +
      `(a breaking change: the major one, the minor one below 1.0) and record it with ${HOW}`,
  );
  if (Deno.env.get("KETS_API_SNAPSHOT") === "update") {
    writeFileSync(snapshotPath(VERSION), JSON.stringify(current, null, 2) + "\n");
    return;
  }
  assert.ok(recorded, `no test/api/${VERSION}.json: record this version's exports with ${HOW}`);
  assert.deepEqual(added, [], `exports not recorded for ${VERSION}: record them with ${HOW}`);
});

Deno.test("the previous version's exports are kept unless the version says a breaking change", () => {
  const older = recordedVersions().filter((version) => compareVersions(version, VERSION) < 0);
  if (older.length === 0) return;
  const previous = older[older.length - 1];
  if (breakingBump(previous, VERSION)) return;
  const { removed, changed } = surfaceChanges(readSnapshot(previous), currentSurface());
  assert.deepEqual(
    [...removed, ...changed],
    [],
    `${previous} -> ${VERSION} is not a breaking bump, yet exports went away or changed kind`,
  );
});

Deno.test("surfaceChanges() finds a removed export, a changed kind and an added one", () => {
  const before = { x: { main: "function", Step: "type", KIND_STEPS: "const" } };
  const after = { x: { main: "const", Step: "type", boot: "function" } };
  assert.deepEqual(surfaceChanges(before, after), {
    removed: ["x: KIND_STEPS (const)"],
    changed: ["x: main (function -> const)"],
    added: ["x: boot (function)"],
  });
  assert.deepEqual(surfaceChanges(before, before), { removed: [], changed: [], added: [] });
});

Deno.test("breakingBump() is a new major, or a new minor below 1.0", () => {
  assert.equal(breakingBump("0.3.0", "0.4.0"), true);
  assert.equal(breakingBump("0.3.0", "0.3.1"), false);
  assert.equal(breakingBump("1.2.0", "1.3.0"), false);
  assert.equal(breakingBump("1.2.0", "2.0.0"), true);
  assert.equal(breakingBump("0.9.0", "1.0.0"), true);
});

Deno.test("the exports are read with their kinds: a function, a const, a class and types", () => {
  const surface = currentSurface();
  assert.equal(surface["kind-entrypoint-ts"].main, "function");
  assert.equal(surface["kind-entrypoint-ts"].KIND_STEPS, "const");
  assert.equal(surface["kind-entrypoint-ts"].EntrypointError, "class");
  assert.equal(surface["kind-entrypoint-ts"].Step, "type");
  assert.equal(surface["kind-entrypoint-ts/testing"].FakeHost, "class");
});
