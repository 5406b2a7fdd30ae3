/**
 * An in-memory Host for unit tests: a virtual file system, scripted commands and lookups, and
 * one ordered list of every effect (like Kubernetes' FakeExec), so tests assert exact sequences.
 */
import { EntrypointError } from "../errors.ts";
import { EXIT_NOT_FOUND } from "../exit_status.ts";
import {
  commandFailure,
  type Family,
  type Host,
  mountArgv,
  type MountOp,
  type PathKind,
  type QueryArgv,
  type QueryOptions,
  type RunOptions,
  type RunResult,
  type Trial,
  type WriteOptions,
} from "./host.ts";
import type { LogLevel } from "../log.ts";
import { mountInfoAfter } from "./mountinfo.ts";

/** One recorded effect or log line. */
export type FakeEvent =
  | { type: "run"; argv: string[]; input?: string }
  | { type: "write"; path: string; data: string; atomic?: true; durable?: true; mode?: number }
  | { type: "copy"; from: string; to: string }
  | { type: "remove"; path: string }
  | { type: "mkdir"; path: string }
  | { type: "rmdir"; path: string }
  | { type: "chmod"; path: string; mode: number }
  | { type: "chown"; path: string; uid: number; gid: number }
  | { type: "mount"; argv: string[] }
  | { type: "log"; level: LogLevel; message: string }
  | { type: "echo"; line: string };

/** What a scripted command answers. */
export interface FakeCommandResult {
  status?: number;
  stdout?: string;
  stderr?: string;
  timedOut?: boolean;
}

/** A scripted command: a fixed answer or a function of argv and stdin. */
export type FakeCommand =
  | FakeCommandResult
  | ((argv: string[], input?: string) => FakeCommandResult);

/** Set-up of a FakeHost. */
export interface FakeHostOptions {
  files?: Record<string, string>;
  dirs?: string[];
  env?: Record<string, string>;
  hostname?: string;
  /** Keys `4:name` / `6:name`. */
  lookups?: Record<string, string | undefined>;
  /** Keys: the command line joined by spaces, or its first word. Unknown commands exit 127. */
  commands?: Record<string, FakeCommand>;
  /** Mount operations that fail, by their joined mount(8) argv. */
  failingMounts?: string[];
  /** Paths `which` finds. */
  executables?: Record<string, string>;
  modes?: Record<string, number>;
  /** What `filesystemName` answers, by path (unknown paths: undefined, "ask stat"). */
  filesystems?: Record<string, string>;
  /**
   * /proc/self/mountinfo, kept as the kernel keeps it: a successful bind mount appends a line, a
   * successful umount drops the mount on top at its target. Other operations leave it as it is.
   */
  mountInfo?: string;
}

const MOUNTINFO = "/proc/self/mountinfo";

/** The fake itself; `events` is the ordered record. */
export class FakeHost implements Host {
  readonly files = new Map<string, string>();
  readonly dirs = new Set<string>();
  readonly modes = new Map<string, number>();
  readonly events: FakeEvent[] = [];
  private readonly options: FakeHostOptions;

  constructor(options: FakeHostOptions = {}) {
    this.options = options;
    for (const [path, data] of Object.entries(options.files ?? {})) this.files.set(path, data);
    for (const dir of options.dirs ?? []) this.dirs.add(dir);
    for (const [path, mode] of Object.entries(options.modes ?? {})) this.modes.set(path, mode);
    if (options.mountInfo !== undefined) this.files.set(MOUNTINFO, options.mountInfo);
  }

  /** Only the log lines, formatted as on stderr (without newlines). */
  get logs(): string[] {
    return this.events.flatMap((e) => e.type === "log" ? [`${e.level}: ${e.message}`] : []);
  }

  /** Every event but log lines and echoed program lines. */
  get effects(): FakeEvent[] {
    return this.events.filter((e) => e.type !== "log" && e.type !== "echo");
  }

  /** Recorded like `run`: tests see every program started, in order. */
  query(argv: QueryArgv, options: QueryOptions = {}): Promise<RunResult> {
    return this.start(argv, options);
  }

  filesystemName(path: string): string | undefined {
    return this.options.filesystems?.[path];
  }

  announce(message: string): void {
    this.log("INFO", message);
  }

  echo(line: string): void {
    this.events.push({ type: "echo", line });
  }

  trial<T>(trial: Trial<T>): Promise<T> {
    return trial.perform();
  }

  run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return this.start(argv, options);
  }

  private start(argv: readonly string[], options: RunOptions): Promise<RunResult> {
    const list = [...argv];
    this.events.push({
      type: "run",
      argv: list,
      ...(options.input !== undefined ? { input: options.input } : {}),
    });
    const commands = this.options.commands ?? {};
    const script = commands[list.join(" ")] ?? commands[list[0]];
    const answer: FakeCommandResult = script === undefined
      ? { status: EXIT_NOT_FOUND, stderr: `${list[0]}: command not found\n` }
      : typeof script === "function"
      ? script(list, options.input)
      : script;
    const result: RunResult = {
      argv: list,
      status: answer.timedOut ? null : answer.status ?? 0,
      stdout: answer.stdout ?? "",
      stderr: answer.stderr ?? "",
      timedOut: answer.timedOut ?? false,
    };
    if (result.status !== 0 && !options.nothrow) {
      return Promise.reject(commandFailure(result, options.timeoutMs));
    }
    return Promise.resolve(result);
  }

  readText(path: string): string {
    const data = this.files.get(path);
    if (data === undefined) {
      const why = this.dirs.has(path) ? "it is a directory" : "no such file or directory";
      throw new EntrypointError(`Cannot read ${path}: ${why}`);
    }
    return data;
  }

  writeText(path: string, data: string, options: WriteOptions = {}): void {
    if (this.dirs.has(path)) throw new EntrypointError(`Cannot write ${path}: it is a directory`);
    this.files.set(path, data);
    // The options are part of the effect: losing `atomic` or a mode must show in the record.
    this.events.push({
      type: "write",
      path,
      data,
      ...(options.atomic ? { atomic: true as const } : {}),
      ...(options.durable ? { durable: true as const } : {}),
      ...(options.mode !== undefined ? { mode: options.mode } : {}),
    });
  }

  copyFile(from: string, to: string): void {
    this.files.set(to, this.readText(from));
    this.events.push({ type: "copy", from, to });
  }

  kind(path: string): PathKind | undefined {
    if (this.files.has(path)) return "file";
    if (this.dirs.has(path)) return "directory";
    return undefined;
  }

  mkdirp(path: string): void {
    this.dirs.add(path);
    this.events.push({ type: "mkdir", path });
  }

  remove(path: string): void {
    this.files.delete(path);
    this.events.push({ type: "remove", path });
  }

  rmdir(path: string): void {
    this.dirs.delete(path);
    this.events.push({ type: "rmdir", path });
  }

  mode(path: string): number | undefined {
    return this.modes.get(path) ?? (this.kind(path) ? 0o644 : undefined);
  }

  chmod(path: string, mode: number): void {
    this.modes.set(path, mode);
    this.events.push({ type: "chmod", path, mode });
  }

  chown(path: string, uid: number, gid: number): void {
    this.events.push({ type: "chown", path, uid, gid });
  }

  which(command: string): string | undefined {
    return this.options.executables?.[command];
  }

  env(name: string): string | undefined {
    return this.options.env?.[name];
  }

  hostname(): string {
    return this.options.hostname ?? "kind-control-plane";
  }

  lookup(name: string, family: Family): Promise<string | undefined> {
    return Promise.resolve(this.options.lookups?.[`${family}:${name}`]);
  }

  log(level: LogLevel, message: string): void {
    this.events.push({ type: "log", level, message });
  }

  mount(op: MountOp, options: { nothrow?: boolean } = {}): Promise<RunResult> {
    const argv = mountArgv(op);
    this.events.push({ type: "mount", argv });
    const failing = (this.options.failingMounts ?? []).includes(argv.join(" "));
    const result: RunResult = {
      argv,
      status: failing ? 32 : 0,
      stdout: "",
      stderr: failing ? `${argv[0]}: ${op.target}: permission denied.\n` : "",
      timedOut: false,
    };
    if (failing && !options.nothrow) return Promise.reject(commandFailure(result));
    if (!failing && this.options.mountInfo !== undefined) {
      this.files.set(MOUNTINFO, mountInfoAfter(this.files.get(MOUNTINFO) ?? "", op));
    }
    return Promise.resolve(result);
  }
}
