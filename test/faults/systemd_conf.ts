/**
 * A strict reader of systemd manager configuration files (system.conf and its drop-ins), written
 * after systemd 252's conf-parser.c, extract-word.c (EXTRACT_UNQUOTE | EXTRACT_CUNESCAPE) and
 * escape.c, for checking what `DefaultEnvironment=` systemd would take from a file without
 * booting systemd. Used by lib/steps/proxy_test.ts and the fault suite (`deno run` it on a file).
 */

/** What systemd would make of a manager configuration file. */
export interface ManagerConf {
  /** `DefaultEnvironment=` assignments in effect, in order. */
  environment: string[];
  /** Every `Key=` setting seen (after line continuation), in order. */
  keys: string[];
  /** What systemd would log while reading it (ignored words, unbalanced quotes, ...). */
  problems: string[];
}

const WHITESPACE = " \t\n\r";

/** Reads `text` as systemd does; see `ManagerConf`. */
export function parseManagerConf(text: string): ManagerConf {
  const conf: ManagerConf = { environment: [], keys: [], problems: [] };
  let continuation: string | undefined;
  let section = "";
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((raw, index) => {
    const where = `line ${index + 1}`;
    // comment lines are dropped even in the middle of a continuation
    const lead = raw.replace(/^[ \t\n\r]+/, "");
    if (continuation === undefined && (lead.startsWith("#") || lead.startsWith(";"))) return;
    let line = continuation === undefined ? raw : continuation + raw;
    let escaped = false;
    for (const c of line) escaped = escaped ? false : c === "\\";
    if (escaped) {
      continuation = line.slice(0, -1) + " ";
      return;
    }
    continuation = undefined;
    line = line.trim();
    if (line === "") return;
    if (line.startsWith("[")) {
      if (!line.endsWith("]")) conf.problems.push(`${where}: invalid section header`);
      section = line.slice(1, -1);
      return;
    }
    const eq = line.indexOf("=");
    if (eq < 0) {
      conf.problems.push(`${where}: missing '=', ignoring line`);
      return;
    }
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    conf.keys.push(`${section}.${key}`);
    if (section === "Manager" && key === "DefaultEnvironment") {
      parseEnvironment(value, conf, where);
    }
  });
  if (continuation !== undefined) conf.problems.push("file ends in a continuation line");
  return conf;
}

function parseEnvironment(value: string, conf: ManagerConf, where: string): void {
  if (value === "") {
    conf.environment = [];
    return;
  }
  let rest = value;
  for (;;) {
    const next = extractFirstWord(rest);
    if ("error" in next) {
      // systemd keeps the words before the bad one and ignores the rest of the line
      conf.problems.push(`${where}: invalid syntax, ignoring: ${next.error}`);
      return;
    }
    if (next.word === undefined) return;
    rest = next.rest;
    if (!isEnvAssignment(next.word)) {
      conf.problems.push(`${where}: invalid environment assignment, ignoring: ${next.word}`);
      continue;
    }
    // strv_env_replace_consume: a later assignment of a name replaces the earlier one
    const name = next.word.slice(0, next.word.indexOf("=") + 1);
    const at = conf.environment.findIndex((assignment) => assignment.startsWith(name));
    if (at >= 0) conf.environment[at] = next.word;
    else conf.environment.push(next.word);
  }
}

/** systemd's `env_assignment_is_valid`: a shell-like name, `=`, any valid text. */
export function isEnvAssignment(word: string): boolean {
  const eq = word.indexOf("=");
  if (eq <= 0) return false;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(word.slice(0, eq));
}

/**
 * One word as extract_first_word(UNQUOTE | CUNESCAPE) takes it: whitespace separated, quotes
 * removed (they may start and stop anywhere in a word), backslash escapes decoded.
 */
export function extractFirstWord(
  text: string,
): { word: string | undefined; rest: string } | { error: string } {
  let i = 0;
  while (i < text.length && WHITESPACE.includes(text[i])) i++;
  if (i === text.length) return { word: undefined, rest: "" };
  let word = "";
  let quote: string | undefined;
  while (i < text.length) {
    const c = text[i];
    if (c === "\\") {
      if (i + 1 >= text.length) return { error: "a backslash ends the value" };
      const decoded = unescapeOne(text, i + 1);
      if (decoded === undefined) {
        return { error: `invalid escape at ${JSON.stringify(text.slice(i))}` };
      }
      word += decoded.text;
      i = decoded.end;
      continue;
    }
    if (quote) {
      if (c === quote) quote = undefined;
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (WHITESPACE.includes(c)) {
      break;
    } else {
      word += c;
    }
    i++;
  }
  if (quote) return { error: "unbalanced quoting" };
  return { word, rest: text.slice(i) };
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  '"': '"',
  "'": "'",
  s: " ",
};

/** systemd's cunescape_one for the escape starting at `text[at]` (after the backslash). */
function unescapeOne(text: string, at: number): { text: string; end: number } | undefined {
  const c = text[at];
  if (c in SIMPLE_ESCAPES) return { text: SIMPLE_ESCAPES[c], end: at + 1 };
  const hex = (n: number) => {
    const digits = text.slice(at + 1, at + 1 + n);
    return digits.length === n && /^[0-9a-fA-F]+$/.test(digits) ? parseInt(digits, 16) : undefined;
  };
  let code: number | undefined;
  let end = at + 1;
  if (c === "x") [code, end] = [hex(2), at + 3];
  else if (c === "u") [code, end] = [hex(4), at + 5];
  else if (c === "U") [code, end] = [hex(8), at + 9];
  else if (/[0-7]/.test(c)) {
    const digits = text.slice(at, at + 3);
    code = /^[0-7]{3}$/.test(digits) ? parseInt(digits, 8) : undefined;
    end = at + 3;
  }
  // NUL is refused: it cannot be part of a C string
  if (code === undefined || code === 0 || code > 0x10ffff) return undefined;
  return { text: String.fromCodePoint(code), end };
}

if (import.meta.main) {
  // deno run test/faults/systemd_conf.ts FILE: prints the environment systemd would take.
  const conf = parseManagerConf(Deno.readTextFileSync(Deno.args[0]));
  for (const assignment of conf.environment) console.log(`env ${JSON.stringify(assignment)}`);
  for (const key of conf.keys) console.log(`setting ${key}`);
  for (const problem of conf.problems) console.log(`problem ${problem}`);
}
