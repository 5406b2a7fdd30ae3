/**
 * The documentation's own contract: README.md stays short enough to read, every relative link in
 * README.md and docs/ reaches a file and a heading that exist, and the figures of docs/speed.md
 * are the ones `npm run bench -- --update` rendered from the committed results.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { readResultsForDocs, renderSpeedDocs, speedDocsBlock } from "../bench/report.ts";

const REPO = path.resolve(import.meta.dirname!, "..");
const README_MAX_LINES = 250;
const MAX_LINE = 120;
/** Written by test/faults/report.sh: its tables hold one scenario's whole result a row. */
const GENERATED_WIDE = new Set(["docs/reliability.md"]);

function read(file: string): string {
  return fs.readFileSync(path.join(REPO, file), "utf8");
}

/** The markdown files whose links are checked, relative to the repository. */
function markdownFiles(): string[] {
  const docs = fs.readdirSync(path.join(REPO, "docs")).filter((f) => f.endsWith(".md")).sort();
  return ["README.md", ...docs.map((f) => `docs/${f}`)];
}

/** The lines of a markdown text outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): { n: number; line: string }[] {
  const out: { n: number; line: string }[] = [];
  let fenced = false;
  text.split("\n").forEach((line, i) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return;
    }
    if (!fenced) out.push({ n: i + 1, line });
  });
  return out;
}

/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/** Every anchor a markdown text defines: its headings' slugs (repeats numbered) and `id`s. */
function anchors(text: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  for (const { line } of proseLines(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*$/.exec(line);
    if (heading) {
      const base = slug(heading[1]);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      found.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const id of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) found.add(id[1]);
  }
  return found;
}

/** The relative link targets of a markdown text (outside code), with their line numbers. */
function relativeLinks(text: string): { n: number; target: string }[] {
  const links: { n: number; target: string }[] = [];
  for (const { n, line } of proseLines(text)) {
    const code = line.replace(/`[^`]*`/g, "");
    for (const m of code.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      if (!/^[a-z][a-z0-9+.-]*:/i.test(m[1])) links.push({ n, target: m[1] });
    }
  }
  return links;
}

/** What is wrong with the relative links of `file` (relative to the repository), one per line. */
function brokenLinks(file: string, readText: (file: string) => string | undefined): string[] {
  const broken: string[] = [];
  for (const { n, target } of relativeLinks(readText(file) ?? "")) {
    const [pathPart, anchor] = target.split("#", 2);
    const resolved = pathPart === "" ? file : path.posix.normalize(
      path.posix.join(path.posix.dirname(file), decodeURIComponent(pathPart)),
    );
    const text = readText(resolved);
    const exists = text !== undefined || fs.existsSync(path.join(REPO, resolved));
    if (!exists) broken.push(`${file}:${n}: ${target}: no file ${resolved}`);
    else if (anchor !== undefined && resolved.endsWith(".md") && !anchors(text ?? "").has(anchor)) {
      broken.push(`${file}:${n}: ${target}: no heading or id "${anchor}" in ${resolved}`);
    }
  }
  return broken;
}

function readRepoFile(file: string): string | undefined {
  try {
    return fs.readFileSync(path.join(REPO, file), "utf8");
  } catch {
    return undefined;
  }
}

Deno.test("README.md is at most 250 lines", () => {
  const lines = read("README.md").replace(/\n$/, "").split("\n").length;
  assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines`);
});

Deno.test("README.md and docs/ have no line over 120 characters outside code blocks", () => {
  const long = markdownFiles().filter((f) => !GENERATED_WIDE.has(f)).flatMap((file) =>
    proseLines(read(file)).filter(({ line }) => [...line].length > MAX_LINE)
      .map(({ n, line }) => `${file}:${n}: ${[...line].length} characters`)
  );
  assert.deepEqual(long, []);
});

Deno.test("every relative link in README.md and docs/ reaches an existing file and heading", () => {
  assert.deepEqual(markdownFiles().flatMap((f) => brokenLinks(f, readRepoFile)), []);
});

Deno.test("the link check finds a missing file and a missing heading", () => {
  const files: Record<string, string> = {
    "README.md": "# Top\n\n## Quick start\n\nSee [a](docs/a.md#two) and [b](docs/b.md) " +
      "and [c](#quick-start) and [d](#nowhere).\n```\n[e](docs/e.md)\n```\n",
    "docs/a.md": "# One\n\n## Two\n",
  };
  assert.deepEqual(brokenLinks("README.md", (f) => files[f]), [
    "README.md:5: docs/b.md: no file docs/b.md",
    'README.md:5: #nowhere: no heading or id "nowhere" in README.md',
  ]);
});

Deno.test("heading anchors are GitHub's: punctuation dropped, backquotes gone, repeats numbered", () => {
  assert.deepEqual(
    [...anchors(
      "# Which image `npm run image` builds\n## Differences from kind's script\n## A\n## A\n",
    )],
    ["which-image-npm-run-image-builds", "differences-from-kinds-script", "a", "a-1"],
  );
});

Deno.test("docs/speed.md's bench block is what bench/report.ts renders from bench/results/", () => {
  const results = readResultsForDocs(
    read("bench/results/latest.json"),
    read("bench/results/scale.json"),
  );
  const block = speedDocsBlock(read("docs/speed.md"));
  assert.ok(block !== undefined, "docs/speed.md has no bench block (bench:begin ... bench:end)");
  assert.equal(
    block,
    renderSpeedDocs(results),
    "docs/speed.md disagrees with bench/results/: run `npm run bench -- --update`, or re-render " +
      "with `deno run -A bench/report.ts --from bench/results/latest.json " +
      "--scale bench/results/scale.json --docs docs/speed.md`",
  );
});
