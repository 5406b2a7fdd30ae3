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
 * It looks at the machine where kind's bash looks: the mount table is read again
 * (/proc/self/mountinfo, parsed by lib/host/mountinfo.ts) at each point where kind's bash runs findmnt
 * or greps mountinfo, and the misc directory is tested when kind's bash tests it, so each
 * decision sees what the step mounted, unmounted or failed to remove before it. The lists it
 * builds from those reads (the container's cgroup paths, the hierarchies, the bind mounted ones)
 * are the same line-by-line results kind's bash gets from its programs, down to its corner cases
 * (`capturedLines`); the unit tests check each against those programs. So a run spawns only
 * findmnt, where kind's bash prints its table; mounts are syscalls.
 */
import { EntrypointError } from "../errors.ts";
import {
  type Announcements,
  type CommandQueries,
  type FileQueries,
  type Files,
  type Log,
  type MountChanges,
  readOptional,
} from "../host/host.ts";
import {
  findmntSourceTargetLines,
  isMountPoint,
  isWithin,
  type MountInfo,
  normalizePath,
  parseMountInfo,
  showsBindOf,
} from "../host/mountinfo.ts";
import { grepLines } from "../host/proc.ts";
import type { Rerun } from "./step.ts";

export const CGROUP_CONTROLLERS_FILE = "/sys/fs/cgroup/cgroup.controllers";
export const CGROUP_ROOT = "/sys/fs/cgroup";
export const MISC_CONTROLLER = "/sys/fs/cgroup/misc";
export const PROC_CGROUPS = "/proc/cgroups";
export const FAKE_CGROUPS = "/kind/fake-cgroups";
const PROC_SELF_CGROUP = "/proc/self/cgroup";
const MOUNTINFO = "/proc/self/mountinfo";
const CPUSET_HIERARCHY = "/sys/fs/cgroup/cpuset";
const SYSTEMD_HIERARCHY = "/sys/fs/cgroup/systemd";
/** kind's kubelet runs with `--cgroup-root=/kubelet`; the systemd driver appends `.slice`. */
const KUBELET_CGROUP_ROOTS = ["/kubelet", "/kubelet.slice"];

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

type CgroupHost = Files & CommandQueries & MountChanges & Log & Announcements;

/** What the step carries from one look at the machine to the next. */
interface Step {
  host: CgroupHost;
  /** The container's cgroup paths (`cpuCgroupPaths`). */
  paths: string[];
  skipExisting: boolean;
  /** With skipExisting: IDs of the mounts an earlier run left, which kind's bash never saw. */
  leftovers: Set<number>;
}

/**
 * kind's `fix_cgroup` as a step. On a rerun in the same boot, bind mounts an earlier run made are
 * not stacked again; a first run is exactly kind's.
 */
export function fixCgroup(host: CgroupHost, context: Rerun): Promise<void> {
  return applyCgroupFixes(host, { skipExisting: context.rerun === true });
}

/**
 * The operations of kind's `fix_cgroup`, in its order, each decided on what the machine shows at
 * that point. Throws an `EntrypointError` with kind's exit status where kind's bash exits, and the
 * mount's `CommandError` where a mount kind's bash does not tolerate fails.
 */
export async function applyCgroupFixes(
  host: CgroupHost,
  options: CgroupFixOptions = {},
): Promise<void> {
  if (host.kind(CGROUP_CONTROLLERS_FILE) === "file") {
    host.log("INFO", "detected cgroup v2");
    return;
  }
  host.log("INFO", "detected cgroup v1");
  const procSelfCgroup = readOptional(host, PROC_SELF_CGROUP);
  if (procSelfCgroup === undefined) throw stop(`Cannot read ${PROC_SELF_CGROUP}`, 2);
  const paths = cpuCgroupPaths(procSelfCgroup);
  if (paths === undefined) throw stop(`${PROC_SELF_CGROUP} has no line for the cpu controller`, 1);
  const skipExisting = options.skipExisting === true;
  const before = skipExisting ? readMounts(host) : [];
  const leftovers = typeof before === "string" ? new Set<number>() : nestedCgroupMounts(before);
  const step: Step = { host, paths, skipExisting, leftovers };

  // With its own cgroup namespace the container sees its cgroup as the root.
  if (paths.length === 1 && paths[0] === "/") {
    host.log("INFO", "detected cgroupns");
    await removeMiscController(step);
    const hierarchies = listHierarchies(step);
    await host.mount({ op: "propagation", target: CGROUP_ROOT, propagation: "rprivate" });
    await mountKubeletCgroupRoots(step, hierarchies);
    return;
  }

  host.log(
    "WARN",
    "cgroupns not enabled! Please use cgroup v2, or cgroup v1 with cgroupns enabled.",
  );
  host.announce("fixing cgroup mounts for all subsystems");
  // kind's bash lists the hierarchies here and again below; only the exit on no match matters
  // now. Its list of the unscoped ones comes from the same table.
  const lines = cgroupMountLines(step);
  hierarchiesIn(step, lines);
  // Hierarchies the runtime left unscoped (their root shows, not the container's path):
  // anything created in them would land in the host's tree.
  const unscoped = mountPointsOf(lines.filter((line) => !mentionsAny(line, paths)));
  if (unscoped.some((mountPoint) => mountPoint !== "")) {
    for (const mountPoint of unscoped) {
      host.announce(`unmounting and removing ${mountPoint}`);
      await umountOrWarn(host, mountPoint, `failed to unmount ${mountPoint}`);
      rmdirOrWarn(host, mountPoint, `failed to rmdir ${mountPoint}`);
    }
  }
  await removeMiscController(step);

  // Show each hierarchy's container cgroup at the path /proc/self/cgroup names.
  const bound = boundCgroupHierarchies(visibleMounts(step).map((m) => m.line));
  if (bound !== undefined) {
    for (const mountPoint of bound.mountPoints) {
      const target = mountPoint + bound.containerPath;
      if (isMountPoint(mountsOrNone(host), target) && await showMount(host, target)) continue;
      host.mkdirp(target);
      await host.mount({ op: "bind", source: mountPoint, target });
    }
  }
  await host.mount({ op: "propagation", target: CGROUP_ROOT, propagation: "rprivate" });
  await mountKubeletCgroupRoots(step, listHierarchies(step));
}

function stop(message: string, exitCode: number): EntrypointError {
  return new EntrypointError(message, { exitCode });
}

/** The mount table now, or why it cannot be read. */
function readMounts(host: FileQueries): MountInfo[] | string {
  const text = readOptional(host, MOUNTINFO);
  if (text === undefined) return `cannot read ${MOUNTINFO}`;
  try {
    return parseMountInfo(text);
  } catch (error) {
    return (error as Error).message;
  }
}

/** The mount table now; empty when it cannot be read (findmnt then finds nothing either). */
function mountsOrNone(host: FileQueries): MountInfo[] {
  const mounts = readMounts(host);
  return typeof mounts === "string" ? [] : mounts;
}

/** The mounts kind's bash would see now: without an earlier run's leftovers (skipExisting). */
function visibleMounts(step: Step): MountInfo[] {
  return mountsOrNone(step.host).filter((m) => !step.leftovers.has(m.mountId));
}

/**
 * The cgroup v1 mounts as `findmnt -lun -o source,target -t cgroup` lists them now. kind's bash
 * exits 1 when the table cannot be listed.
 */
function cgroupMountLines(step: Step): string[] {
  const mounts = readMounts(step.host);
  if (typeof mounts === "string") throw stop(`Cannot list the cgroup mounts: ${mounts}`, 1);
  return findmntSourceTargetLines(mounts.filter((m) => !step.leftovers.has(m.mountId)), "cgroup");
}

/**
 * The mount points of the cgroup v1 hierarchies whose mount line (source and mount point, as
 * findmnt lists them) names one of the container's cgroup paths. kind's bash exits 1 when none
 * does.
 */
function hierarchiesIn(step: Step, lines: string[]): string[] {
  const matching = lines.filter((line) => mentionsAny(line, step.paths));
  if (matching.length === 0) {
    const wanted = JSON.stringify(step.paths.join("\n"));
    throw stop(`No cgroup v1 mount matches the container's cgroup ${wanted}`, 1);
  }
  return mountPointsOf(matching);
}

/** `hierarchiesIn` of the mount table as it is now. */
function listHierarchies(step: Step): string[] {
  return hierarchiesIn(step, cgroupMountLines(step));
}

/** `umount TARGET || log_warn WARNING`. */
async function umountOrWarn(host: CgroupHost, target: string, warning: string): Promise<void> {
  const result = await host.mount({ op: "umount", target }, { nothrow: true });
  if (result.status !== 0) host.log("WARN", warning);
}

/** `rmdir DIR || log_warn WARNING`. */
function rmdirOrWarn(host: CgroupHost, dir: string, warning: string): void {
  try {
    host.rmdir(dir);
  } catch {
    host.log("WARN", warning);
  }
}

/**
 * `findmnt TARGET` where the mount table shows TARGET mounted: kind's bash prints findmnt's table
 * there, and running findmnt is the practical way to print it byte for byte. True when findmnt
 * found the mount.
 */
async function showMount(host: CgroupHost, target: string): Promise<boolean> {
  const result = await host.query(["findmnt", target], { nothrow: true, stdout: "forward" });
  return result.status === 0;
}

/** kind's `remove_misc_controller`: unmount misc, and hide it from systemd in /proc/cgroups. */
async function removeMiscController(step: Step): Promise<void> {
  const { host } = step;
  if (host.kind(MISC_CONTROLLER) !== "directory") return;
  host.announce("removing misc controller");
  await umountOrWarn(host, MISC_CONTROLLER, `failed umount ${MISC_CONTROLLER}`);
  rmdirOrWarn(host, MISC_CONTROLLER, `failed rmdir ${MISC_CONTROLLER}`);
  // /proc/cgroups without misc, bind mounted over it so systemd does not find misc. kind's
  // bash creates the file, then fails when it cannot read /proc/cgroups or no line is left.
  const procCgroups = readOptional(host, PROC_CGROUPS);
  const kept = procCgroups === undefined ? undefined : linesWithout(procCgroups, "misc");
  host.writeText(FAKE_CGROUPS, kept ?? "");
  if (kept === undefined) throw stop(`Cannot read ${PROC_CGROUPS}`, 2);
  if (kept === "") throw stop(`${PROC_CGROUPS} has no line without "misc"`, 1);
  await bindUnlessDone(step, FAKE_CGROUPS, PROC_CGROUPS);
}

/** kind's `mount_kubelet_cgroup_root`: both kubelet roots in every hierarchy. */
async function mountKubeletCgroupRoots(step: Step, hierarchies: string[]): Promise<void> {
  for (const hierarchy of hierarchies) {
    for (const root of KUBELET_CGROUP_ROOTS) await mountKubeletCgroupRoot(step, hierarchy, root);
  }
  // For hosts without systemd's named hierarchy (kind tests the whole list as one text, so any
  // mount point under it counts).
  if (!hierarchies.some((hierarchy) => hierarchy.includes(SYSTEMD_HIERARCHY))) {
    await mountKubeletCgroupRoot(step, SYSTEMD_HIERARCHY, "/kubelet.slice");
  }
}

/** Creates one kubelet cgroup root and pins it with a self bind mount. */
async function mountKubeletCgroupRoot(
  step: Step,
  hierarchy: string,
  root: string,
): Promise<void> {
  const dir = normalizePath(`${hierarchy}/${root}`);
  step.host.mkdirp(dir);
  if (hierarchy === CPUSET_HIERARCHY) {
    // A cpuset cgroup with empty cpus or mems cannot take tasks (ENOSPC).
    step.host.copyFile(`${hierarchy}/cpuset.cpus`, `${dir}/cpuset.cpus`);
    step.host.copyFile(`${hierarchy}/cpuset.mems`, `${dir}/cpuset.mems`);
  }
  await bindUnlessDone(step, dir, dir);
}

/** `mount --bind SOURCE TARGET`, skipped with skipExisting when TARGET already shows SOURCE. */
async function bindUnlessDone(step: Step, source: string, target: string): Promise<void> {
  if (step.skipExisting && showsBindOf(mountsOrNone(step.host), source, target)) return;
  await step.host.mount({ op: "bind", source, target });
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

/**
 * Cgroup v1 mounts below the mount point of another mount of the same hierarchy. A runtime mounts
 * each hierarchy once under /sys/fs/cgroup, so these are what an earlier run bind mounted. By mount
 * ID: an ID stays with its mount while it is mounted, and the step never unmounts these.
 */
export function nestedCgroupMounts(mounts: readonly MountInfo[]): Set<number> {
  const cgroups = mounts.filter((m) => m.fsType === "cgroup");
  const nested = cgroups.filter((m) =>
    cgroups.some((other) =>
      other.device === m.device && other.mountPoint !== m.mountPoint &&
      isWithin(m.mountPoint, other.mountPoint)
    )
  );
  return new Set(nested.map((m) => m.mountId));
}
