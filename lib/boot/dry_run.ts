/**
 * `KIND_ENTRYPOINT_DRY_RUN=1`: every detection runs for real, every change is only described.
 * The dry-run host is built from the real `Queries` alone (lib/host/host.ts): its change side records
 * plan entries and keeps them in an overlay, so later steps read what earlier ones would write:
 * files, directories, and the mount table (/proc/self/mountinfo shows the planned bind mounts and
 * umounts, as lib/host/mountinfo.ts's `mountInfoAfter` lists them).
 * It never holds a real change, so no call site can make one by forgetting a flag. A trial (a
 * change made only to find something out, such as containerd's trial overlay mount) is not
 * made either: the plan lists it as undecided, with the answer the dry run went on with.
 */
import { unifiedDiff } from "./diff.ts";
import { EntrypointError } from "../errors.ts";
import { type ExecFn, reportFailure, runEntrypoint, type RunOptions } from "./run.ts";
import { mountInfoAfter } from "../host/mountinfo.ts";
import {
  type Host,
  mountArgv,
  type PathKind,
  type Queries,
  type RunOptions as CommandOptions,
  type RunResult,
} from "../host/host.ts";

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

/** A dry-run host over the real queries; see the module comment. */
export function createDryRun(real: Queries): DryRun {
  const plan: Plan = { changes: [], undecided: [] };
  const files = new Map<string, string | null>();
  const dirs = new Set<string>();
  /** Directories a planned rmdir removed (and no planned mkdir made again). */
  const removedDirs = new Set<string>();
  const modes = new Map<string, number>();
  const change = (entry: string) => plan.changes.push(entry);
  const done = (argv: readonly string[]): Promise<RunResult> =>
    Promise.resolve({ argv, status: 0, stdout: "", stderr: "", timedOut: false });

  const current = (file: string): string | undefined => {
    if (files.has(file)) return files.get(file) ?? undefined;
    return real.kind(file) === "file" ? real.readText(file) : undefined;
  };
  const planWrite = (file: string, data: string, what: string) => {
    const parent = file.slice(0, file.lastIndexOf("/")) || "/";
    if (host.kind(parent) !== "directory") {
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

  const host: Host = {
    // Queries: the real ones, except that files show the planned writes.
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
    // Changes: plan entries only.
    run(argv: readonly string[], options: CommandOptions = {}): Promise<RunResult> {
      let entry = `run ${shellWords(argv)}`;
      if (options.input !== undefined) {
        entry += options.diffAgainst !== undefined
          ? "\n" +
            indent(unifiedDiff(options.diffAgainst, options.input, { from: "before", to: "after" }))
          : `\n${indent(options.input)}`;
      }
      change(entry);
      return done(argv);
    },
    writeText(file, data) {
      planWrite(file, data, "write");
    },
    copyFile(from, to) {
      planWrite(to, host.readText(from), `copy ${from} to`);
    },
    mkdirp(dir) {
      if (host.kind(dir) === "directory") return;
      change(`mkdir -p ${dir}`);
      dirs.add(dir);
    },
    remove(file) {
      if (host.kind(file) === undefined) return;
      change(`rm -f ${file}`);
      files.set(file, null);
    },
    rmdir(dir) {
      change(`rmdir ${dir}`);
      dirs.delete(dir);
      removedDirs.add(dir);
    },
    chmod(file, mode) {
      if (host.mode(file) === mode) return;
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
  return { host, plan };
}

/** Runs the entrypoint against a dry-run host; returns the exit status and the plan to print. */
export async function runDryRun(
  real: Queries,
  argv: readonly string[],
  options: RunOptions = {},
): Promise<{ status: number; plan: string }> {
  const dryRun = createDryRun(real);
  const planExec: ExecFn = (command) => {
    dryRun.plan.end = `exec ${shellWords(command)}`;
    return Promise.resolve(undefined as never);
  };
  let status = 0;
  try {
    // No DNS probe: the rules it would check were not rewritten (and a probe is no change).
    await runEntrypoint(dryRun.host, argv, planExec, { ...options, loadProbe: undefined });
    dryRun.plan.end ??= "exit 0 (no command to exec)";
  } catch (error) {
    status = reportFailure(real, error);
    dryRun.plan.end = `stop with exit status ${status}`;
  }
  return { status, plan: formatPlan(dryRun.plan) };
}

/** The plan as printed on stdout: a header that counts the changes, the changes, the end. */
export function formatPlan(plan: Plan): string {
  const n = plan.changes.length;
  const count = n === 0 ? "no changes" : n === 1 ? "1 change" : `${n} changes`;
  const then = plan.end ? `, then ${plan.end}` : "";
  const lines = ["# kind-entrypoint-ts dry run (KIND_ENTRYPOINT_DRY_RUN=1): nothing was changed."];
  if (plan.undecided.length > 0) {
    lines.push("# Not decided without a trial that changes the node (a real run makes it):");
    for (const question of plan.undecided) lines.push(`#   ${question}`);
  }
  lines.push(
    n === 0
      ? `# A real run would make no changes${then}.`
      : `# A real run would make ${count}${then}; the ${n === 1 ? "change" : "changes, in order"}:`,
    ...plan.changes,
  );
  if (plan.end) lines.push(plan.end);
  return lines.map((line) => `${line}\n`).join("");
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
