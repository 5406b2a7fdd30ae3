/**
 * `update-alternatives --set NAME PATH` (dpkg's, 1.21) done in-process, for the one case a node
 * boot meets: a link group whose administrative file, links and choices are all in order. The
 * program would leave the same files, links and log lines; anything else (a missing choice, a
 * broken or foreign link, a slave the new choice lacks, no /var/log) is left to the program,
 * which repairs or reports it in its own words.
 */
import { STANDARD_STREAMS, type Streams, writeAllSync } from "./command.ts";
import type { RunOptions, RunResult } from "./host.ts";

/** dpkg's program, the only one this stands in for (a wrapper elsewhere on PATH runs). */
export const UPDATE_ALTERNATIVES = "/usr/bin/update-alternatives";

/** Where the program keeps its links, its administrative files and its log. */
export const ALTERNATIVES_DIR = "/etc/alternatives";
export const ALTERNATIVES_ADMIN_DIR = "/var/lib/dpkg/alternatives";
export const ALTERNATIVES_LOG = "/var/log/alternatives.log";

/** A link group as its administrative file describes it. */
export interface LinkGroup {
  status: "auto" | "manual";
  /** The master link, e.g. /usr/sbin/iptables. */
  link: string;
  slaves: { name: string; link: string }[];
  /** Each choice with its priority and one path per slave ("" where it has none). */
  choices: { path: string; priority: string; slavePaths: string[] }[];
}

/**
 * Parses an administrative file (`/var/lib/dpkg/alternatives/NAME`); undefined unless it is in
 * the form the program writes, so that rewriting its status line is what the program writes.
 */
export function parseLinkGroup(text: string): LinkGroup | undefined {
  const lines = text.split("\n");
  let at = 0;
  const next = () => lines[at++];
  const status = next();
  if (status !== "auto" && status !== "manual") return undefined;
  const link = next();
  if (!link) return undefined;
  const slaves: LinkGroup["slaves"] = [];
  for (let name = next(); name; name = next()) {
    const slaveLink = next();
    if (!slaveLink) return undefined;
    slaves.push({ name, link: slaveLink });
  }
  const choices: LinkGroup["choices"] = [];
  for (let path = next(); path; path = next()) {
    const priority = next();
    if (!/^-?\d+$/.test(priority ?? "")) return undefined;
    const slavePaths = slaves.map(() => next());
    if (slavePaths.some((slave) => slave === undefined)) return undefined;
    choices.push({ path, priority, slavePaths });
  }
  const group = { status, link, slaves, choices } as LinkGroup;
  return choices.length > 0 && formatLinkGroup(group) === text ? group : undefined;
}

/** The administrative file of `group`, as the program writes it. */
export function formatLinkGroup(group: LinkGroup): string {
  const lines = [group.status, group.link];
  for (const slave of group.slaves) lines.push(slave.name, slave.link);
  lines.push("");
  for (const choice of group.choices) {
    lines.push(choice.path, choice.priority, ...choice.slavePaths);
  }
  lines.push("", "");
  return lines.join("\n");
}

/** What `--set` changes in a link group in order, given the choice the master points at now. */
export interface AlternativeChange {
  /** The administrative file's new text, when the status changes (auto to manual). */
  admin?: string;
  /** New targets of the links in ALTERNATIVES_DIR (master first, then the slaves), when the choice changes. */
  links: { name: string; target: string }[];
  /** What the program prints on stdout. */
  stdout: string;
  /** Its log lines, without the `update-alternatives DATE TIME: ` prefix. */
  log: string[];
}

/**
 * What `update-alternatives --set name path` does to `group`, whose master now points at
 * `current`: set the status to manual, point every link at `path`'s files, say so.
 */
export function planSetAlternative(
  name: string,
  path: string,
  group: LinkGroup,
  current: string,
): AlternativeChange {
  const choice = group.choices.find((c) => c.path === path)!;
  const change: AlternativeChange = {
    links: [],
    stdout: "",
    log: [`run with --set ${name} ${path}`],
  };
  if (group.status !== "manual") {
    change.admin = formatLinkGroup({ ...group, status: "manual" });
    change.log.push(`status of link group ${group.link} set to manual`);
  }
  if (current !== path) {
    change.log.push(`link group ${name} updated to point to ${path}`);
    change.stdout =
      `update-alternatives: using ${path} to provide ${group.link} (${name}) in manual mode\n`;
    change.links.push({ name, target: path });
    group.slaves.forEach((slave, i) =>
      change.links.push({ name: slave.name, target: choice.slavePaths[i] })
    );
  }
  return change;
}

/** Options of `setAlternative`. */
export interface SetAlternativeOptions {
  /** A directory standing for `/` (tests); the paths in links and files stay absolute. */
  root?: string;
  /** The log's clock. */
  now?: Date;
}

/**
 * `update-alternatives --set name path`, in-process: returns what the program prints on stdout,
 * or undefined, having changed nothing, when the link group is not in order (the program must
 * run). Throws when a file operation fails part way; the program, run then, cleans up after it.
 */
export function setAlternative(
  name: string,
  path: string,
  options: SetAlternativeOptions = {},
): string | undefined {
  const root = options.root ?? "";
  const at = (file: string) => `${root}${file}`;
  const group = readLinkGroup(at(`${ALTERNATIVES_ADMIN_DIR}/${name}`));
  const choice = group?.choices.find((c) => c.path === path);
  if (!group || !choice || !isDirectory(at("/var/log"))) return undefined;
  // Every choice and the new choice's slaves exist (the program drops missing choices).
  const files = [...group.choices.map((c) => c.path), ...choice.slavePaths];
  if (!files.every((file) => file !== "" && isFile(at(file)))) return undefined;
  // The links are as the program left them: the master's and slaves' links point into
  // ALTERNATIVES_DIR, whose links all point at one choice's files.
  const current = readLink(at(`${ALTERNATIVES_DIR}/${name}`));
  const currentChoice = group.choices.find((c) => c.path === current);
  if (!currentChoice || readLink(at(group.link)) !== `${ALTERNATIVES_DIR}/${name}`) {
    return undefined;
  }
  const slavesInOrder = group.slaves.every((slave, i) =>
    readLink(at(slave.link)) === `${ALTERNATIVES_DIR}/${slave.name}` &&
    readLink(at(`${ALTERNATIVES_DIR}/${slave.name}`)) === currentChoice.slavePaths[i] &&
    currentChoice.slavePaths[i] !== ""
  );
  if (!slavesInOrder) return undefined;

  const change = planSetAlternative(name, path, group, current!);
  // In the program's order: the new links beside the old, the administrative file, the renames,
  // the log last (it writes its lines when it exits).
  const tmp = (file: string) => `${file}.dpkg-tmp`;
  for (const link of change.links) {
    const file = at(`${ALTERNATIVES_DIR}/${link.name}`);
    removeIfPresent(tmp(file));
    Deno.symlinkSync(link.target, tmp(file));
  }
  if (change.admin !== undefined) {
    const file = at(`${ALTERNATIVES_ADMIN_DIR}/${name}`);
    writeAllTo(tmp(file), change.admin, { sync: true });
    Deno.renameSync(tmp(file), file);
  }
  for (const link of change.links) {
    const file = at(`${ALTERNATIVES_DIR}/${link.name}`);
    Deno.renameSync(tmp(file), file);
  }
  const stamp = `update-alternatives ${logTime(options.now ?? new Date())}: `;
  const log = change.log.map((line) => `${stamp}${line}\n`).join("");
  writeAllTo(at(ALTERNATIVES_LOG), log, { append: true });
  return change.stdout;
}

/** `YYYY-MM-DD HH:MM:SS` in local time, as the program's log has it. */
export function logTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

function readLinkGroup(file: string): LinkGroup | undefined {
  try {
    return parseLinkGroup(Deno.readTextFileSync(file));
  } catch {
    return undefined;
  }
}

function readLink(file: string): string | undefined {
  try {
    return Deno.readLinkSync(file);
  } catch {
    return undefined;
  }
}

function isFile(file: string): boolean {
  try {
    return Deno.statSync(file).isFile;
  } catch {
    return false;
  }
}

function isDirectory(file: string): boolean {
  try {
    return Deno.statSync(file).isDirectory;
  } catch {
    return false;
  }
}

function removeIfPresent(file: string): void {
  try {
    Deno.removeSync(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/**
 * Writes `text` to `file`, created as the program creates its files (0666 less the umask),
 * appended to or replacing it; `sync`: on disk before returning.
 */
function writeAllTo(file: string, text: string, options: { append?: true; sync?: true }): void {
  using handle = Deno.openSync(file, {
    create: true,
    ...(options.append ? { append: true } : { write: true, truncate: true }),
    mode: 0o666,
  });
  const bytes = new TextEncoder().encode(text);
  writeAllSync(handle, bytes);
  if (options.sync) handle.syncSync();
}

/** Options of `runSetAlternative`: the call's, and where it looks. */
export interface RunSetAlternativeOptions extends RunOptions, SetAlternativeOptions {
  /** Resolves a command through PATH (`CommandQueries.which`). */
  which: (command: string) => string | undefined;
  streams?: Streams;
}

/**
 * `argv` as `CommandChanges.run` would answer it, when it is `update-alternatives --set NAME
 * PATH`, PATH finds dpkg's program and `setAlternative` can do its work; else undefined, and the
 * program runs. stdout goes where `options.stdout` says.
 */
export function runSetAlternative(
  argv: readonly string[],
  options: RunSetAlternativeOptions,
): Promise<RunResult> | undefined {
  const [program, verb, name, path, ...rest] = argv;
  if (program !== "update-alternatives" || verb !== "--set" || !path || rest.length > 0) {
    return undefined;
  }
  if (options.which(program) !== UPDATE_ALTERNATIVES) return undefined;
  let printed: string | undefined;
  try {
    printed = setAlternative(name, path, options);
  } catch {
    // Stopped part way: the program finishes the work from there, or says what is wrong.
    return undefined;
  }
  if (printed === undefined) return undefined;
  const mode = options.stdout ?? "capture";
  const streams = options.streams ?? STANDARD_STREAMS;
  if (mode === "forward") streams.stdout(new TextEncoder().encode(printed));
  const stdout = mode === "capture" ? printed : "";
  return Promise.resolve({ argv: [...argv], status: 0, stdout, stderr: "", timedOut: false });
}
