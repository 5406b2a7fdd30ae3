/**
 * The dry-run host of `KIND_ENTRYPOINT_DRY_RUN=1` (run by lib/boot/dry_run.ts): every detection
 * runs for real, every change is only described. The dry-run host is built from the real `Queries` alone (lib/host/host.ts): its change side records
 * plan entries and keeps them in an overlay, so later steps read what earlier ones would write:
 * files, directories, and the mount table (/proc/self/mountinfo shows the planned bind mounts and
 * umounts, as lib/host/mountinfo.ts's `mountInfoAfter` lists them).
 * It never holds a real change, so no call site can make one by forgetting a flag. A trial (a
 * change made only to find something out, such as containerd's trial overlay mount) is not
 * made either: the plan lists it as undecided, with the answer the dry run went on with.
 */
import { unifiedDiff } from "./diff.ts";
import { EntrypointError } from "../errors.ts";
import { mountInfoAfter } from "./mountinfo.ts";
import {
  type Changes,
  type Host,
  mountArgv,
  type PathKind,
  type Queries,
  type RunOptions,
  type RunResult,
} from "./host.ts";

const MOUNTINFO = "/proc/self/mountinfo";

/** What a real run would do, as found by a dry run. */
export interface Plan {
  /** One entry per change a real run would make, in order. */
  changes: string[];
  /** Questions only a trial could answer, each with the answer the dry run went on with. */
  undecided: string[];
  /** How a real run would end: `exec ...`, or `stop with exit status N`. */
  end?: string;
}

/** A host that plans instead of acting, and the plan it has built. */
export interface DryRun {
  host: Host;
  plan: Plan;
}

/** What the planned changes leave for later queries to see. */
interface Overlay {
  /** Planned file contents; null for a planned removal. */
  files: Map<string, string | null>;
  dirs: Set<string>;
  /** Directories a planned rmdir removed (and no planned mkdir made again). */
  removedDirs: Set<string>;
  modes: Map<string, number>;
}

/** A dry-run host over the real queries; see the module comment. */
export function createDryRun(real: Queries): DryRun {
  const plan: Plan = { changes: [], undecided: [] };
  const overlay: Overlay = {
    files: new Map(),
    dirs: new Set(),
    removedDirs: new Set(),
    modes: new Map(),
  };
  const queries = overlaidQueries(real, overlay);
  const host: Host = { ...queries, ...plannedChanges(real, queries, { overlay, plan }) };
  return { host, plan };
}

/** The real queries, except that files, directories and modes show the planned changes. */
function overlaidQueries(real: Queries, overlay: Overlay): Queries {
  const { files, dirs, removedDirs, modes } = overlay;
  return {
    env: (name) => real.env(name),
    hostname: () => real.hostname(),
    lookup: (name, family, timeoutMs) => real.lookup(name, family, timeoutMs),
    log: (level, message) => real.log(level, message),
    which: (command) => real.which(command),
    query: (argv, options) => real.query(argv, options),
    filesystemName: (path) => real.filesystemName(path),
    readText(file) {
      if (files.has(file)) {
        const data = files.get(file);
        if (data === null || data === undefined) {
          throw new EntrypointError(`Cannot read ${file}: no such file or directory`);
        }
        return data;
      }
      return real.readText(file);
    },
    kind(file): PathKind | undefined {
      if (files.has(file)) return files.get(file) === null ? undefined : "file";
      if (dirs.has(file)) return "directory";
      if (removedDirs.has(file)) return undefined;
      return real.kind(file);
    },
    mode(file) {
      return modes.get(file) ?? real.mode(file);
    },
  };
}

/** The changes as plan entries, kept in `overlay`; `seen` reads the node with the overlay. */
function plannedChanges(
  real: Queries,
  seen: Queries,
  { overlay, plan }: { overlay: Overlay; plan: Plan },
): Changes {
  const { files, dirs, removedDirs, modes } = overlay;
  const change = (entry: string) => plan.changes.push(entry);
  const done = (argv: readonly string[]): Promise<RunResult> =>
    Promise.resolve({ argv, status: 0, stdout: "", stderr: "", timedOut: false });
  const current = (file: string): string | undefined => {
    if (files.has(file)) return files.get(file) ?? undefined;
    return real.kind(file) === "file" ? real.readText(file) : undefined;
  };
  const planWrite = (file: string, data: string, what: string) => {
    const parent = file.slice(0, file.lastIndexOf("/")) || "/";
    if (seen.kind(parent) !== "directory") {
      // The real write would fail here; say so the same way.
      throw new EntrypointError(`Cannot write ${file}: no such file or directory`);
    }
    const before = current(file);
    files.set(file, data);
    // Writing what is already there changes nothing.
    if (before === data) return;
    const diff = unifiedDiff(before ?? "", data, {
      from: before === undefined ? "/dev/null" : file,
      to: file,
    });
    change(`${what} ${file}\n${indent(diff)}`);
  };
  return {
    run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
      change(plannedRun(argv, options));
      return done(argv);
    },
    writeText(file, data) {
      planWrite(file, data, "write");
    },
    copyFile(from, to) {
      planWrite(to, seen.readText(from), `copy ${from} to`);
    },
    mkdirp(dir) {
      if (seen.kind(dir) === "directory") return;
      change(`mkdir -p ${dir}`);
      dirs.add(dir);
    },
    remove(file) {
      if (seen.kind(file) === undefined) return;
      change(`rm -f ${file}`);
      files.set(file, null);
    },
    rmdir(dir) {
      change(`rmdir ${dir}`);
      dirs.delete(dir);
      removedDirs.add(dir);
    },
    chmod(file, mode) {
      if (seen.mode(file) === mode) return;
      change(`chmod ${mode.toString(8).padStart(4, "0")} ${file}`);
      modes.set(file, mode);
    },
    chown(file, uid, gid) {
      change(`chown ${uid}:${gid} ${file}`);
    },
    mount(op) {
      change(`run ${shellWords(mountArgv(op))}`);
      const table = current(MOUNTINFO);
      if (table !== undefined) files.set(MOUNTINFO, mountInfoAfter(table, op));
      return done(mountArgv(op));
    },
    announce(message) {
      real.log("INFO", `(dry run) ${asIntention(message)}`);
    },
    // The line of a program the plan does not run.
    echo() {},
    trial(trial) {
      plan.undecided.push(`${trial.question}: assumed ${trial.assumption}`);
      return Promise.resolve(trial.assumed);
    },
  };
}

/** A planned command's entry: its words, and its input (or the diff the input makes). */
function plannedRun(argv: readonly string[], options: RunOptions): string {
  let entry = `run ${shellWords(argv)}`;
  if (options.input !== undefined) {
    entry += options.diffAgainst !== undefined
      ? "\n" +
        indent(unifiedDiff(options.diffAgainst, options.input, { from: "before", to: "after" }))
      : `\n${indent(options.input)}`;
  }
  return entry;
}

/** The -ing forms of kind's announcements and their base forms, for `asIntention`. */
const BASE_FORMS: Record<string, string> = {
  adding: "add",
  calling: "call",
  changing: "change",
  clearing: "clear",
  enabling: "enable",
  ensuring: "ensure",
  faking: "fake",
  fixing: "fix",
  making: "make",
  regenerating: "regenerate",
  remounting: "remount",
  removing: "remove",
  setting: "set",
  starting: "start",
  unmounting: "unmount",
};

/**
 * An announcement worded as a plan: `clearing and regenerating /etc/machine-id` becomes
 * `would clear and regenerate /etc/machine-id`, `detected aufs, calling sync` becomes
 * `detected aufs, would call sync`. A line without a known verb reads `would do: ...`.
 */
export function asIntention(message: string): string {
  let first = true;
  const worded = message.replace(/\b[a-z]+ing\b/g, (word) => {
    const base = BASE_FORMS[word];
    if (base === undefined) return word;
    const out = first ? `would ${base}` : base;
    first = false;
    return out;
  });
  return first ? `would do: ${message}` : worded;
}

function indent(text: string): string {
  return text.replace(/\n$/, "").split("\n").map((line) => `    ${line}`).join("\n");
}

/** Words quoted for a shell where needed, so the plan can be read (and pasted) as commands. */
export function shellWords(argv: readonly string[]): string {
  return argv.map((word) =>
    /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
  )
    .join(" ");
}
