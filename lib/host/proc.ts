/**
 * Small parsers of /proc and /sys text, each mirroring the exact semantics of the grep or ulimit
 * call kind's bash uses, so that decisions are made in-process without spawning a program.
 */

/**
 * The lines grep sees in `text`: split on newlines, where a final newline ends the last line
 * instead of starting an empty one, and an empty text has no lines at all.
 */
export function grepLines(text: string): string[] {
  if (text === "") return [];
  return (text.endsWith("\n") ? text.slice(0, -1) : text).split("\n");
}

/** POSIX `[[:space:]]` in the C locale. */
const SPACE = "[ \\t\\n\\v\\f\\r]";

/** An identity mapping of the whole 32-bit uid range, searched anywhere in a line (unanchored). */
const FULL_RANGE_MAPPING = new RegExp(`0${SPACE}+0${SPACE}+4294967295`);

/**
 * True when /proc/self/uid_map shows a non-initial user namespace: like `grep -Eqv` with the
 * full-range identity mapping, any line that does not contain that mapping counts. The pattern is
 * unanchored, exactly as kind's, so `100 0 4294967295` still reads as the initial namespace.
 */
export function isUserNamespace(uidMap: string): boolean {
  return grepLines(uidMap).some((line) => !FULL_RANGE_MAPPING.test(line));
}

/** A resource limit as /proc/self/limits shows it. */
export type Limit = number | "unlimited";

/**
 * The hard limit of `Max open files` in /proc/self/limits (what `ulimit -Hn` prints), or
 * undefined when the line is missing or unreadable.
 */
export function parseNofileHardLimit(limits: string): Limit | undefined {
  for (const line of grepLines(limits)) {
    const match = /^Max open files\s+(\S+)\s+(\S+)/.exec(line);
    if (!match) continue;
    const hard = match[2];
    if (hard === "unlimited") return "unlimited";
    return /^\d+$/.test(hard) ? Number(hard) : undefined;
  }
  return undefined;
}

/** Characters grep -w counts as part of a word. */
function isWordChar(char: string | undefined): boolean {
  return char !== undefined && /[A-Za-z0-9_]/.test(char);
}

/**
 * True when `word` occurs in `text` as a whole word, like `grep -qw WORD`: some occurrence is
 * neither preceded nor followed by a letter, digit or underscore (so `cpu` is not found in
 * `cpuset`, but is in `cpuset cpu`).
 */
export function containsWord(text: string, word: string): boolean {
  if (word === "") return false;
  for (const line of grepLines(text)) {
    let at = line.indexOf(word);
    while (at !== -1) {
      if (!isWordChar(line[at - 1]) && !isWordChar(line[at + word.length])) return true;
      at = line.indexOf(word, at + 1);
    }
  }
  return false;
}

/**
 * sed's `s/PATTERN/REPLACEMENT/` (no `g` flag) with a literal pattern and a literal replacement:
 * the first occurrence on each line is replaced. Lines end at `\n`; a missing final newline stays
 * missing, as GNU sed keeps it.
 */
export function replaceFirstPerLine(text: string, pattern: string, replacement: string): string {
  if (pattern === "") return text;
  return text
    .split("\n")
    .map((line) => {
      const at = line.indexOf(pattern);
      return at === -1 ? line : line.slice(0, at) + replacement + line.slice(at + pattern.length);
    })
    .join("\n");
}
