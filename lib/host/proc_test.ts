import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  containsWord,
  grepLines,
  isUserNamespace,
  parseNofileHardLimit,
  replaceFirstPerLine,
} from "./proc.ts";

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/testdata/proc/${name}`, import.meta.url), "utf8");

Deno.test("grepLines() sees lines as grep does: a final newline ends a line, empty text has none", () => {
  const cases: [string, string[]][] = [
    ["", []],
    ["a", ["a"]],
    ["a\n", ["a"]],
    ["a\n\n", ["a", ""]],
    ["a\nb", ["a", "b"]],
  ];
  for (const [text, lines] of cases) assert.deepEqual(grepLines(text), lines, JSON.stringify(text));
});

Deno.test("isUserNamespace() tells the initial namespace from user namespaces", () => {
  const cases: [string, boolean][] = [
    ["uid_map.host", false],
    ["uid_map.rootless", true],
    ["uid_map.userns-remap", true],
    // kind's pattern is unanchored: `100 0 4294967295` contains `0 0 4294967295`.
    ["uid_map.unanchored", false],
  ];
  for (const [name, userns] of cases) assert.equal(isUserNamespace(fixture(name)), userns, name);
});

Deno.test("isUserNamespace() counts any line without the full mapping, like grep -v", () => {
  assert.equal(isUserNamespace(""), false);
  assert.equal(isUserNamespace("0 0 4294967295\n\n"), true);
  assert.equal(isUserNamespace("0\t0\t4294967295\n"), false);
  assert.equal(isUserNamespace("0 0 4294967294\n"), true);
});

Deno.test("parseNofileHardLimit() reads the hard limit of open files", () => {
  const cases: [string, number | "unlimited" | undefined][] = [
    [fixture("limits.docker"), 1048576],
    [fixture("limits.low"), 1024],
    [fixture("limits.unlimited"), "unlimited"],
    ["Limit Soft Limit Hard Limit Units\n", undefined],
    ["", undefined],
  ];
  for (const [text, limit] of cases) assert.equal(parseNofileHardLimit(text), limit);
});

Deno.test("containsWord() matches whole words only, like grep -w", () => {
  const cases: [string, string, boolean][] = [
    ["cpuset cpu io memory pids\n", "cpu", true],
    ["cpuset io memory pids\n", "cpu", false],
    ["cpuset cpu_x\n", "cpu", false],
    ["cpuset,cpu\n", "cpu", true],
    ["cpu\n", "cpu", true],
    ["memory-x\n", "memory", true],
    ["", "pids", false],
    ["a\npids\n", "pids", true],
  ];
  for (const [text, word, found] of cases) {
    assert.equal(containsWord(text, word), found, `${word} in ${JSON.stringify(text)}`);
  }
});

Deno.test("replaceFirstPerLine() replaces the first match of each line, like sed s/// without g", () => {
  const cases: [string, string][] = [
    ["a a\na\n", "b a\nb\n"],
    ["x\n", "x\n"],
    ["a", "b"],
    ["", ""],
  ];
  for (const [text, expected] of cases) assert.equal(replaceFirstPerLine(text, "a", "b"), expected);
});

Deno.test("replaceFirstPerLine() inserts the replacement literally", () => {
  assert.equal(replaceFirstPerLine("k = v\n", "v", "&/\\1$&"), "k = &/\\1$&\n");
});
