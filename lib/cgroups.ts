/**
 * kind's `fix_cgroup`: make a node container's cgroup v1 tree usable by a kubelet nested inside
 * it. On cgroup v2 there is nothing to do but say so.
 *
 * On cgroup v1 the step
 * - finds the container's own cgroup path (the cpu controller's line of /proc/self/cgroup);
 * - with a private cgroup namespace (path `/`): hides the misc controller, then gives kubelet its
 *   cgroup roots `/kubelet` and `/kubelet.slice` in every hierarchy, each pinned by a self bind
 *   mount so that systemd does not remove them before kubelet starts;
 * - without one: unmounts the hierarchies the runtime did not scope to the container, hides misc,
 *   bind mounts each hierarchy again at `<mount point><container path>` so the paths of
 *   /proc/self/cgroup resolve inside the container, then gives kubelet its roots as above.
 *
 * The lists it works on (the container's cgroup paths, the hierarchies, the bind mounted ones)
 * are computed from /proc/self/cgroup and /proc/self/mountinfo (lib/mountinfo.ts) as typed
 * lists, with the same line-by-line results kind's bash gets from its programs, down to its
 * corner cases (`capturedLines`); the unit tests check each against those programs. So a run
 * spawns only findmnt, where kind's bash prints its table (`show-mount`); mounts are syscalls.
 *
 * The decisions are a pure generator, `cgroupFixes`: it keeps a model of the mount table,
 * yields one operation at a time and learns whether a tolerated operation failed (kind's bash
 * checks the machine again later, and a failed umount changes what it finds). `planCgroupFixes`
 * lists the operations; `applyCgroupFixes` performs them.
 */
import { EntrypointError } from "./errors.ts";
import {
  type Announcements,
  type CommandQueries,
  type FileQueries,
  type Files,
  type Log,
  mountArgv,
  type MountChanges,
  type MountOp,
  readOptional,
} from "./host.ts";
import type { LogLevel } from "./log.ts";
import {
  coveringMount,
  findmntSourceTargetLines,
  formatMountInfoLine,
  isMountPoint,
  isWithin,
  type MountInfo,
  normalizePath,
  parseMountInfo,
  rootOfPath,
  topMountAt,
} from "./mountinfo.ts";
import { grepLines } from "./proc.ts";
import type { Rerun } from "./rerun.ts";

export const CGROUP_CONTROLLERS_FILE = "/sys/fs/cgroup/cgroup.controllers";
export const CGROUP_ROOT = "/sys/fs/cgroup";
export const MISC_CONTROLLER = "/sys/fs/cgroup/misc";
export const PROC_CGROUPS = "/proc/cgroups";
export const FAKE_CGROUPS = "/kind/fake-cgroups";
const CPUSET_HIERARCHY = "/sys/fs/cgroup/cpuset";
const SYSTEMD_HIERARCHY = "/sys/fs/cgroup/systemd";
/** kind's kubelet runs with `--cgroup-root=/kubelet`; the systemd driver appends `.slice`. */
const KUBELET_CGROUP_ROOTS = ["/kubelet", "/kubelet.slice"];

/** What the step reads from the machine: cgroup v2 needs nothing more. */
export type CgroupInputs = { cgroupV2: true } | CgroupV1Inputs;

/** What the step reads on cgroup v1; text is undefined where the file was unreadable. */
export interface CgroupV1Inputs {
  /** /sys/fs/cgroup/cgroup.controllers is not a regular file. */
  cgroupV2: false;
  /** /proc/self/cgroup. */
  procSelfCgroup: string | undefined;
  /** /proc/self/mountinfo, as of the start of the step. */
  mountInfo: string | undefined;
  /** /sys/fs/cgroup/misc is a directory (following symlinks, like `test -d`). */
  miscIsDirectory: boolean;
  /** /proc/cgroups. */
  procCgroups: string | undefined;
}

/** Options of the cgroup fixes. */
export interface CgroupFixOptions {
  /**
   * Leave alone what an earlier run in the same container set up, so that running again changes
   * nothing (kind's bash stacks its bind mounts on every run). Cgroup mounts that were already
   * nested below another mount of the same hierarchy when the step started are not taken for
   * hierarchies, and a self bind mount is skipped when its target is already a mount showing the
   * same cgroup. On a fresh container it changes nothing. Default false: kind's behaviour.
   */
  skipExisting?: boolean;
}

/** One operation of the plan, in kind's order. */
export type CgroupFix =
  | { op: "log"; level: LogLevel; message: string }
  /** An `INFO:` line that says what is about to change. */
  | { op: "announce"; message: string }
  /** Without `warnOnFailure` a failure stops the boot with mount's exit status. */
  | { op: "mount"; mount: MountOp; warnOnFailure?: string }
  | { op: "rmdir"; path: string; warnOnFailure: string }
  | { op: "mkdirp"; path: string }
  /** `cat FROM > TO`. */
  | { op: "copy"; from: string; to: string }
  | { op: "write"; path: string; data: string }
  /**
   * `findmnt TARGET` for a target the model knows to be a mount point: kind's bash prints
   * findmnt's table there. Its outcome is whether findmnt found the mount.
   */
  | { op: "show-mount"; target: string }
  /** kind's bash exits here (errexit) with `exitCode`. */
  | { op: "fail"; message: string; exitCode: number };

type CgroupHost = Files & CommandQueries & MountChanges & Log & Announcements;

/**
 * kind's `fix_cgroup` as a step. On a rerun in the same boot, bind mounts an earlier run made are
 * not stacked again (kind's bash goes 46 → 100 → 262 mounts); a first run is exactly kind's.
 */
export function fixCgroup(host: CgroupHost, context: Rerun): Promise<void> {
  return applyCgroupFixes(host, { skipExisting: context.rerun === true });
}

/** Reads the machine, then performs the plan one operation at a time. */
export async function applyCgroupFixes(
  host: CgroupHost,
  options: CgroupFixOptions = {},
): Promise<void> {
  const plan = cgroupFixes(readCgroupInputs(host), options);
  let outcome = true;
  for (let step = plan.next(); !step.done; step = plan.next(outcome)) {
    outcome = await performCgroupFix(host, step.value);
  }
}

/** Everything `cgroupFixes` needs, read in-process. */
export function readCgroupInputs(host: FileQueries): CgroupInputs {
  if (host.kind(CGROUP_CONTROLLERS_FILE) === "file") return { cgroupV2: true };
  const read = (file: string) => readOptional(host, file);
  return {
    cgroupV2: false,
    procSelfCgroup: read("/proc/self/cgroup"),
    mountInfo: read("/proc/self/mountinfo"),
    miscIsDirectory: host.kind(MISC_CONTROLLER) === "directory",
    procCgroups: read(PROC_CGROUPS),
  };
}

/** Performs one operation; returns false when a tolerated one failed (after its WARN line). */
export async function performCgroupFix(host: CgroupHost, fix: CgroupFix): Promise<boolean> {
  switch (fix.op) {
    case "log":
      host.log(fix.level, fix.message);
      return true;
    case "announce":
      host.announce(fix.message);
      return true;
    case "mount": {
      if (fix.warnOnFailure === undefined) {
        await host.mount(fix.mount);
        return true;
      }
      const result = await host.mount(fix.mount, { nothrow: true });
      if (result.status === 0) return true;
      host.log("WARN", fix.warnOnFailure);
      return false;
    }
    case "rmdir":
      try {
        host.rmdir(fix.path);
        return true;
      } catch {
        host.log("WARN", fix.warnOnFailure);
        return false;
      }
    case "mkdirp":
      host.mkdirp(fix.path);
      return true;
    case "copy":
      host.copyFile(fix.from, fix.to);
      return true;
    case "write":
      host.writeText(fix.path, fix.data);
      return true;
    case "show-mount": {
      // Only reached when the target is already mounted (a second run): running findmnt itself
      // is the practical way to print its table byte for byte.
      const result = await host.query(["findmnt", fix.target], {
        nothrow: true,
        stdout: "forward",
      });
      return result.status === 0;
    }
    case "fail":
      throw new EntrypointError(fix.message, { exitCode: fix.exitCode });
  }
}

/** One line per operation, for tests and plans: the command kind's bash would run. */
export function describeCgroupFix(fix: CgroupFix): string {
  switch (fix.op) {
    case "log":
      return `${fix.level}: ${fix.message}`;
    case "announce":
      return `INFO: ${fix.message}`;
    case "mount": {
      const command = mountArgv(fix.mount).join(" ");
      return fix.warnOnFailure === undefined ? command : `${command} || WARN: ${fix.warnOnFailure}`;
    }
    case "rmdir":
      return `rmdir ${fix.path} || WARN: ${fix.warnOnFailure}`;
    case "mkdirp":
      return `mkdir -p ${fix.path}`;
    case "copy":
      return `cat ${fix.from} > ${fix.to}`;
    case "write":
      return `write ${fix.path} ${JSON.stringify(fix.data)}`;
    case "show-mount":
      return `findmnt ${fix.target}`;
    case "fail":
      return `exit ${fix.exitCode}: ${fix.message}`;
  }
}

/** Options of `planCgroupFixes`. */
export interface PlanOptions extends CgroupFixOptions {
  /** Tolerated operations to treat as failed (default: every operation succeeds). */
  fails?: (fix: CgroupFix) => boolean;
}

/** The whole plan, up to and including a `fail` operation if kind's bash would exit. */
export function planCgroupFixes(inputs: CgroupInputs, options: PlanOptions = {}): CgroupFix[] {
  const fixes: CgroupFix[] = [];
  const plan = cgroupFixes(inputs, options);
  for (let step = plan.next(); !step.done; step = plan.next(!options.fails?.(step.value))) {
    fixes.push(step.value);
    if (step.value.op === "fail") break;
  }
  return fixes;
}

/** A generator of operations that is sent each one's outcome and returns a `T`. */
type Fixes<T = void> = Generator<CgroupFix, T, boolean | undefined>;

/**
 * The operations of kind's `fix_cgroup`, in order. Send each one's outcome back with `next(ok)`;
 * after a `fail` operation the generator must not be resumed.
 */
export function* cgroupFixes(inputs: CgroupInputs, options: CgroupFixOptions = {}): Fixes {
  if (inputs.cgroupV2) {
    yield info("detected cgroup v2");
    return;
  }
  yield info("detected cgroup v1");
  if (inputs.procSelfCgroup === undefined) {
    return yield* fail("Cannot read /proc/self/cgroup", 2);
  }
  const containerPaths = cpuCgroupPaths(inputs.procSelfCgroup);
  if (containerPaths === undefined) {
    return yield* fail("/proc/self/cgroup has no line for the cpu controller", 1);
  }
  const state = new CgroupState(inputs, options);
  // With its own cgroup namespace the container sees its cgroup as the root.
  if (containerPaths.length === 1 && containerPaths[0] === "/") {
    yield info("detected cgroupns");
    yield* removeMiscController(state);
    const hierarchies = yield* listHierarchies(state, containerPaths);
    yield mountFix({ op: "propagation", target: CGROUP_ROOT, propagation: "rprivate" });
    yield* mountKubeletCgroupRoots(state, hierarchies);
    return;
  }

  yield log(
    "WARN",
    "cgroupns not enabled! Please use cgroup v2, or cgroup v1 with cgroupns enabled.",
  );
  yield announce("fixing cgroup mounts for all subsystems");
  // kind's bash computes this list here and again below; only the exit on no match matters now.
  yield* listHierarchies(state, containerPaths);
  // Hierarchies the runtime left unscoped (their root shows, not the container's path):
  // anything created in them would land in the host's tree.
  const unscoped = mountPointsOf(
    state.cgroupMountLines().filter((line) => !mentionsAny(line, containerPaths)),
  );
  if (unscoped.some((mountPoint) => mountPoint !== "")) {
    for (const mountPoint of unscoped) {
      yield announce(`unmounting and removing ${mountPoint}`);
      const unmount: MountOp = { op: "umount", target: mountPoint };
      if (yield mountFix(unmount, `failed to unmount ${mountPoint}`)) state.umount(mountPoint);
      const removed = yield {
        op: "rmdir",
        path: mountPoint,
        warnOnFailure: `failed to rmdir ${mountPoint}`,
      };
      if (removed) state.removedDirectory(mountPoint);
    }
  }
  yield* removeMiscController(state);

  // Show each hierarchy's container cgroup at the path /proc/self/cgroup names.
  const bound = boundCgroupHierarchies(state.mountInfoLines());
  if (bound !== undefined) {
    const { containerPath, mountPoints } = bound;
    for (const mountPoint of mountPoints) {
      const target = mountPoint + containerPath;
      if (state.isMountPoint(target) && (yield { op: "show-mount", target })) continue;
      yield { op: "mkdirp", path: target };
      yield mountFix({ op: "bind", source: mountPoint, target });
      state.bind(mountPoint, target);
    }
  }
  yield mountFix({ op: "propagation", target: CGROUP_ROOT, propagation: "rprivate" });
  const hierarchies = yield* listHierarchies(state, containerPaths);
  yield* mountKubeletCgroupRoots(state, hierarchies);
}

function log(level: LogLevel, message: string): CgroupFix {
  return { op: "log", level, message };
}

function info(message: string): CgroupFix {
  return log("INFO", message);
}

function announce(message: string): CgroupFix {
  return { op: "announce", message };
}

function mountFix(mount: MountOp, warnOnFailure?: string): CgroupFix {
  return warnOnFailure === undefined
    ? { op: "mount", mount }
    : { op: "mount", mount, warnOnFailure };
}

function* fail(message: string, exitCode: number): Generator<CgroupFix, never, unknown> {
  yield { op: "fail", message, exitCode };
  throw new Error("cgroupFixes was resumed after a fatal failure");
}

/** kind's `remove_misc_controller`: unmount misc, and hide it from systemd in /proc/cgroups. */
function* removeMiscController(state: CgroupState): Fixes {
  if (!state.miscIsDirectory) return;
  yield announce("removing misc controller");
  const unmount: MountOp = { op: "umount", target: MISC_CONTROLLER };
  if (yield mountFix(unmount, `failed umount ${MISC_CONTROLLER}`)) state.umount(MISC_CONTROLLER);
  const removed = yield {
    op: "rmdir",
    path: MISC_CONTROLLER,
    warnOnFailure: `failed rmdir ${MISC_CONTROLLER}`,
  };
  if (removed) state.removedDirectory(MISC_CONTROLLER);
  // /proc/cgroups without misc, bind mounted over it so systemd does not find misc. kind's
  // bash creates the file before it reads /proc/cgroups, and fails when it cannot read it or
  // no line is left.
  const procCgroups = state.inputs.procCgroups;
  const kept = procCgroups === undefined ? undefined : linesWithout(procCgroups, "misc");
  yield { op: "write", path: FAKE_CGROUPS, data: kept ?? "" };
  if (kept === undefined) return yield* fail(`Cannot read ${PROC_CGROUPS}`, 2);
  if (kept === "") return yield* fail(`${PROC_CGROUPS} has no line without "misc"`, 1);
  yield* bindUnlessDone(state, FAKE_CGROUPS, PROC_CGROUPS);
}

/**
 * The mount points of the cgroup v1 hierarchies whose mount line (source and mount point, as
 * findmnt lists them) names one of the container's cgroup paths. kind's bash exits 1 when none
 * does.
 */
function* listHierarchies(state: CgroupState, containerPaths: string[]): Fixes<string[]> {
  const error = state.mountInfoError;
  if (error !== undefined) return yield* fail(`Cannot list the cgroup mounts: ${error}`, 1);
  const matching = state.cgroupMountLines().filter((line) => mentionsAny(line, containerPaths));
  if (matching.length === 0) {
    return yield* fail(
      `No cgroup v1 mount matches the container's cgroup ${
        JSON.stringify(containerPaths.join("\n"))
      }`,
      1,
    );
  }
  return mountPointsOf(matching);
}

/** kind's `mount_kubelet_cgroup_root`: both kubelet roots in every hierarchy. */
function* mountKubeletCgroupRoots(state: CgroupState, hierarchies: string[]): Fixes {
  for (const hierarchy of hierarchies) {
    for (const root of KUBELET_CGROUP_ROOTS) yield* mountKubeletCgroupRoot(state, hierarchy, root);
  }
  // For hosts without systemd's named hierarchy (kind tests the whole list as one text, so any
  // mount point under it counts).
  if (!hierarchies.some((hierarchy) => hierarchy.includes(SYSTEMD_HIERARCHY))) {
    yield* mountKubeletCgroupRoot(state, SYSTEMD_HIERARCHY, "/kubelet.slice");
  }
}

/** Creates one kubelet cgroup root and pins it with a self bind mount. */
function* mountKubeletCgroupRoot(state: CgroupState, hierarchy: string, root: string): Fixes {
  const dir = normalizePath(`${hierarchy}/${root}`);
  yield { op: "mkdirp", path: dir };
  if (hierarchy === CPUSET_HIERARCHY) {
    // A cpuset cgroup with empty cpus or mems cannot take tasks (ENOSPC).
    yield { op: "copy", from: `${hierarchy}/cpuset.cpus`, to: `${dir}/cpuset.cpus` };
    yield { op: "copy", from: `${hierarchy}/cpuset.mems`, to: `${dir}/cpuset.mems` };
  }
  yield* bindUnlessDone(state, dir, dir);
}

/** `mount --bind SOURCE TARGET`, skipped with skipExisting when TARGET already shows SOURCE. */
function* bindUnlessDone(state: CgroupState, source: string, target: string): Fixes {
  if (state.options.skipExisting && state.isBound(source, target)) return;
  yield mountFix({ op: "bind", source, target });
  state.bind(source, target);
}

/**
 * The cgroup paths of the cpu controller: the path of each /proc/self/cgroup line whose
 * controller list ends in `cpu` or has it next to last (`cpu`, `cpu,cpuacct`, `cpuacct,cpu`),
 * cut at the next colon. Usually one path; kind's bash keeps every matching line (see
 * `capturedLines`). Undefined when no line matches, where kind's bash exits.
 */
export function cpuCgroupPaths(procSelfCgroup: string | undefined): string[] | undefined {
  const paths = grepLines(procSelfCgroup ?? "")
    .filter(isCpuControllerLine)
    .map((line) => line.split(":")[2] ?? "");
  return paths.length === 0 ? undefined : capturedLines(paths);
}

/** A `hierarchy-ID:controllers:path` line whose controllers `cpuCgroupPaths` takes. */
function isCpuControllerLine(line: string): boolean {
  const fields = line.split(":");
  if (fields.length < 3) return false;
  const controllers = fields[1].split(",");
  return controllers.slice(-2).includes("cpu");
}

/**
 * The cgroup hierarchies the runtime bind mounted from the container's cgroup (a container
 * without its own cgroup namespace sees `/docker/<id>` mounted at `/sys/fs/cgroup/memory`):
 * the container's path, from the first such mount, and every mount point, or undefined when
 * there is none. A mount line counts when it has a path starting with `/` and a letter or digit
 * somewhere before ` /sys/fs/cgroup`, and `cgroup` somewhere after it; the span from that path
 * to the last `cgroup` is what kind's bash reads, so its first word is the container's path and
 * its second word (split further at blanks) the mount points. (The node image runs in the C
 * locale: letters and digits are ASCII.)
 */
export function boundCgroupHierarchies(
  mountInfoLines: readonly string[],
): { containerPath: string; mountPoints: string[] } | undefined {
  const spans = cgroupBindMountSpans(mountInfoLines);
  if (spans.length === 0) return undefined;
  return {
    containerPath: spaceField(spans[0], 1),
    mountPoints: spans.flatMap((span) => spaceField(span, 2).split(/[ \t\n]+/))
      .filter((word) => word !== ""),
  };
}

/**
 * The span `boundCgroupHierarchies` reads in each mountinfo line: from the first `/` followed by
 * a letter or digit through the last `cgroup` after a ` /sys/fs/cgroup` (leftmost-longest, as
 * POSIX `grep -o` matches; a backtracking match agrees here).
 */
export function cgroupBindMountSpans(lines: readonly string[]): string[] {
  return lines.flatMap((line) => CGROUP_BIND_MOUNT.exec(line)?.[0] ?? []);
}

const CGROUP_BIND_MOUNT = /\/[A-Za-z0-9].* \/sys\/fs\/cgroup.*.*cgroup/s;

/** True when `line` contains one of `paths` (an empty path is in every line). */
export function mentionsAny(line: string, paths: readonly string[]): boolean {
  return paths.some((path) => line.includes(path));
}

/**
 * The mount points of findmnt's `SOURCE TARGET` lines: each line's second blank-separated word
 * (so a blank inside SOURCE shifts it, as in kind's bash), as captured lines.
 */
export function mountPointsOf(lines: readonly string[]): string[] {
  return capturedLines(
    lines.map((line) => line.replace(/^[ \t\n]+/, "").split(/[ \t\n]+/)[1] ?? ""),
  );
}

/** The `n`th space-separated field of `line`; a line without a space is its own every field. */
function spaceField(line: string, n: number): string {
  const fields = line.split(" ");
  return fields.length === 1 ? line : fields[n - 1] ?? "";
}

/** The lines of `text` that do not contain `word` anywhere, each ending in a newline. */
export function linesWithout(text: string, word: string): string {
  return grepLines(text).filter((line) => !line.includes(word)).map((line) => line + "\n").join("");
}

/**
 * A list of lines as kind's bash holds it in a variable (`x=$(...)`) and reads it back line by
 * line: trailing empty lines are gone, and an empty variable is still one (empty) line.
 */
export function capturedLines(lines: readonly string[]): string[] {
  const kept = [...lines];
  while (kept.length > 0 && kept.at(-1) === "") kept.pop();
  return kept.length > 0 ? kept : [""];
}

/** What the plan knows of the machine as it goes: the mount table and the misc directory. */
class CgroupState {
  readonly inputs: CgroupV1Inputs;
  readonly options: CgroupFixOptions;
  readonly mountInfoError: string | undefined;
  miscIsDirectory: boolean;
  #mounts: MountInfo[] = [];
  /** With skipExisting: mounts an earlier run left, which do not count as hierarchies. */
  #leftovers = new Set<MountInfo>();

  constructor(inputs: CgroupV1Inputs, options: CgroupFixOptions) {
    this.inputs = inputs;
    this.options = options;
    this.miscIsDirectory = inputs.miscIsDirectory;
    if (inputs.mountInfo === undefined) {
      this.mountInfoError = "cannot read /proc/self/mountinfo";
    } else {
      try {
        this.#mounts = parseMountInfo(inputs.mountInfo);
      } catch (error) {
        this.mountInfoError = (error as Error).message;
      }
    }
    if (options.skipExisting) this.#leftovers = nestedCgroupMounts(this.#mounts);
  }

  /** The mounts kind's bash would look at. */
  #visible(): MountInfo[] {
    return this.#mounts.filter((m) => !this.#leftovers.has(m));
  }

  /** The cgroup v1 mounts as `findmnt -t cgroup` lists SOURCE and TARGET. */
  cgroupMountLines(): string[] {
    return findmntSourceTargetLines(this.#visible(), "cgroup");
  }

  mountInfoLines(): string[] {
    return this.#visible().map((m) => m.line);
  }

  isMountPoint(path: string): boolean {
    return isMountPoint(this.#mounts, path);
  }

  /**
   * The mount on top at `target` shows what `mount --bind SOURCE TARGET` would mount there. For
   * a self bind mount, SOURCE is looked up as if the mounts at TARGET were not there.
   */
  isBound(source: string, target: string): boolean {
    const top = topMountAt(this.#mounts, target);
    const self = normalizePath(source) === normalizePath(target);
    const from = coveringMount(this.#mounts, source, { below: self });
    return top !== undefined && from !== undefined && top.device === from.device &&
      top.root === rootOfPath(from, source);
  }

  /** Records `mount --bind SOURCE TARGET`: the new mount is appended, as the kernel lists it. */
  bind(source: string, target: string): void {
    const from = coveringMount(this.#mounts, source);
    if (!from) return;
    const parent = coveringMount(this.#mounts, target);
    const entry = {
      ...from,
      mountId: Math.max(0, ...this.#mounts.map((m) => m.mountId)) + 1,
      parentId: parent?.mountId ?? from.mountId,
      root: rootOfPath(from, source),
      mountPoint: normalizePath(target),
      optionalFields: [],
    };
    this.#mounts.push({ ...entry, line: formatMountInfoLine(entry) });
  }

  /** Records `umount TARGET`: the mount on top there goes. */
  umount(target: string): void {
    const top = topMountAt(this.#mounts, target);
    if (top) this.#mounts.splice(this.#mounts.lastIndexOf(top), 1);
  }

  removedDirectory(path: string): void {
    if (normalizePath(path) === MISC_CONTROLLER) this.miscIsDirectory = false;
  }
}

/**
 * Cgroup v1 mounts below the mount point of another mount of the same hierarchy. A runtime mounts
 * each hierarchy once under /sys/fs/cgroup, so these are what an earlier run bind mounted.
 */
export function nestedCgroupMounts(mounts: readonly MountInfo[]): Set<MountInfo> {
  const cgroups = mounts.filter((m) => m.fsType === "cgroup");
  return new Set(
    cgroups.filter((m) =>
      cgroups.some((other) =>
        other.device === m.device && other.mountPoint !== m.mountPoint &&
        isWithin(m.mountPoint, other.mountPoint)
      )
    ),
  );
}
