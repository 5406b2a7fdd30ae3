/**
 * `KIND_ENTRYPOINT_DRY_RUN=1`: every detection runs for real, every change is only described.
 * The dry-run host wraps the real one: reads and read-only commands pass through, mutations are
 * recorded in a plan and kept in an overlay, so later steps read what earlier ones would write.
 */
import { unifiedDiff } from "./diff.ts";
import { EntrypointError } from "./errors.ts";
import { reportFailure, runEntrypoint } from "./main.ts";
import {
  type Host,
  mountArgv,
  type MountOp,
  type MountOptions,
  type PathKind,
  type RunOptions,
  type RunResult,
} from "./host.ts";

/** A host that plans instead of acting, and the plan it has built. */
export interface DryRun {
  host: Host;
  /** One entry per change a real run would make, in order. */
  plan: string[];
  /** Records the exec of the init command. */
  planExec(argv: readonly string[]): void;
}

/** Wraps `real` so that nothing is changed; see the module comment. */
export function createDryRun(real: Host): DryRun {
  const plan: string[] = [];
  const files = new Map<string, string | null>();
  const dirs = new Set<string>();
  const modes = new Map<string, number>();

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
    const diff = unifiedDiff(before ?? "", data, {
      from: before === undefined ? "/dev/null" : file,
      to: file,
    });
    plan.push(`${what} ${file}${diff ? "\n" + indent(diff) : " (unchanged)"}`);
    files.set(file, data);
  };

  const host: Host = {
    env: (name) => real.env(name),
    hostname: () => real.hostname(),
    lookup: (name, family, timeoutMs) => real.lookup(name, family, timeoutMs),
    log: (level, message) => real.log(level, message),
    which: (command) => real.which(command),
    // statfs(2) only reads, so a dry run decides as a real run does, without the stat program.
    filesystemName: real.filesystemName && ((path) => real.filesystemName!(path)),
    run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
      if (options.readOnly) return real.run(argv, options);
      let entry = `run ${shellWords(argv)}`;
      if (options.input !== undefined) {
        entry += options.diffAgainst !== undefined
          ? "\n" +
            indent(unifiedDiff(options.diffAgainst, options.input, { from: "before", to: "after" }))
          : `\n${indent(options.input)}`;
      }
      plan.push(entry);
      return Promise.resolve({ argv, status: 0, stdout: "", stderr: "", timedOut: false });
    },
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
    writeText(file, data) {
      planWrite(file, data, "write");
    },
    copyFile(from, to) {
      planWrite(to, host.readText(from), `copy ${from} to`);
    },
    kind(file): PathKind | undefined {
      if (files.has(file)) return files.get(file) === null ? undefined : "file";
      if (dirs.has(file)) return "directory";
      return real.kind(file);
    },
    mkdirp(dir) {
      if (real.kind(dir) === "directory" || dirs.has(dir)) return;
      plan.push(`mkdir -p ${dir}`);
      dirs.add(dir);
    },
    remove(file) {
      if (host.kind(file) === undefined) return;
      plan.push(`rm -f ${file}`);
      files.set(file, null);
    },
    rmdir(dir) {
      plan.push(`rmdir ${dir}`);
      dirs.delete(dir);
    },
    mode(file) {
      return modes.get(file) ?? real.mode(file);
    },
    chmod(file, mode) {
      if (host.mode(file) === mode) return;
      plan.push(`chmod ${mode.toString(8).padStart(4, "0")} ${file}`);
      modes.set(file, mode);
    },
    chown(file, uid, gid) {
      plan.push(`chown ${uid}:${gid} ${file}`);
    },
    mount(op: MountOp, options: MountOptions = {}) {
      if (options.probe) return real.mount(op, options);
      plan.push(`run ${shellWords(mountArgv(op))}`);
      return Promise.resolve({
        argv: mountArgv(op),
        status: 0,
        stdout: "",
        stderr: "",
        timedOut: false,
      });
    },
  };
  return {
    host,
    plan,
    planExec(argv) {
      plan.push(argv.length ? `exec ${shellWords(argv)}` : "exit 0 (no command to exec)");
    },
  };
}

/** Runs the entrypoint against a dry-run host; returns the exit status and the plan to print. */
export async function runDryRun(
  real: Host,
  argv: readonly string[],
): Promise<{ status: number; plan: string }> {
  const dryRun = createDryRun(real);
  let status = 0;
  try {
    await runEntrypoint(dryRun.host, argv, (command) => {
      dryRun.planExec(command);
      return Promise.resolve(undefined as never);
    });
  } catch (error) {
    status = reportFailure(real, error);
    dryRun.plan.push(`stop with exit status ${status}`);
  }
  return { status, plan: formatPlan(dryRun.plan) };
}

/** True when `KIND_ENTRYPOINT_DRY_RUN` asks for a dry run. */
export function isDryRun(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes)$/i.test(value);
}

/** The plan as printed on stdout. */
export function formatPlan(plan: readonly string[]): string {
  const header =
    "# kind-entrypoint-ts dry run (KIND_ENTRYPOINT_DRY_RUN=1): nothing was changed.\n" +
    `# A real run would make these ${plan.length} changes, in this order:\n`;
  return header + plan.map((entry) => `${entry}\n`).join("");
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
