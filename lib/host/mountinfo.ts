/**
 * /proc/self/mountinfo as typed values (proc(5)), and the two views of it that kind's bash gets
 * from findmnt(8), computed in-process: `findmnt -lun -o source,target -t TYPE` and
 * `findmnt PATH`'s yes/no answer.
 *
 * A line reads:
 *
 *     36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *     (1)(2)(3)  (4)   (5)   (6)       (7)      (8)(9)  (10)      (11)
 *
 * mount ID, parent ID, major:minor, root, mount point, mount options, optional fields ended by a
 * lone `-`, filesystem type, source, super options. The kernel writes space, tab, newline and
 * backslash in paths as `\ooo` octal escapes.
 */
import type { MountOp } from "./mount_op.ts";
import { clip } from "../text.ts";

/** One mount, as one line of /proc/self/mountinfo describes it. */
export interface MountInfo {
  mountId: number;
  parentId: number;
  /** `major:minor` of the filesystem; mounts of one cgroup v1 hierarchy share it. */
  device: string;
  /** The directory of the filesystem that is mounted here (`/` unless a bind mount). */
  root: string;
  mountPoint: string;
  /** Per-mount options (`rw`, `nosuid`, ...). */
  options: string[];
  /** Propagation tags such as `shared:12` or `master:3`. */
  optionalFields: string[];
  fsType: string;
  source: string;
  /** Per-filesystem options (`rw,cpu,cpuacct` for a cgroup v1 hierarchy). */
  superOptions: string[];
  /** The line exactly as the kernel wrote it (used where kind's bash greps the raw file). */
  line: string;
}

const OCTAL_ESCAPE = /\\([0-7]{3})/g;

/** Decodes the kernel's `\ooo` escapes (`\040` is a space). */
export function unescapeMountField(text: string): string {
  if (!text.includes("\\")) return text;
  // The escapes are bytes; decode them together so escaped UTF-8 sequences survive.
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  let last = 0;
  for (const match of text.matchAll(OCTAL_ESCAPE)) {
    bytes.push(...encoder.encode(text.slice(last, match.index)));
    bytes.push(parseInt(match[1], 8) & 0xff);
    last = match.index + match[0].length;
  }
  bytes.push(...encoder.encode(text.slice(last)));
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Writes space, tab, newline and backslash as the kernel does in mountinfo paths. */
export function escapeMountField(text: string): string {
  return text.replace(/[ \t\n\\]/g, (c) => "\\" + c.charCodeAt(0).toString(8).padStart(3, "0"));
}

/**
 * Parses the text of /proc/self/mountinfo. Throws an error naming the first malformed line:
 * the kernel never writes one, so it means the caller read something else.
 */
export function parseMountInfo(text: string): MountInfo[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((line, index) => {
    const entry = parseMountInfoLine(line);
    if (!entry) {
      throw new Error(`mountinfo line ${index + 1} is malformed: ${clip(line)}`);
    }
    return entry;
  });
}

/** One line of mountinfo, or undefined when it does not have the kernel's shape. */
export function parseMountInfoLine(line: string): MountInfo | undefined {
  const fields = line.split(" ");
  const separator = fields.indexOf("-", 6);
  if (separator < 0 || fields.length !== separator + 4) return undefined;
  const [mountId, parentId, device, root, mountPoint, options] = fields;
  if (!/^\d+$/.test(mountId) || !/^\d+$/.test(parentId) || !/^\d+:\d+$/.test(device)) {
    return undefined;
  }
  const [fsType, source, superOptions] = fields.slice(separator + 1);
  return {
    mountId: Number(mountId),
    parentId: Number(parentId),
    device,
    root: unescapeMountField(root),
    mountPoint: unescapeMountField(mountPoint),
    options: splitOptions(options),
    optionalFields: fields.slice(6, separator),
    fsType,
    source: unescapeMountField(source),
    superOptions: splitOptions(superOptions),
    line,
  };
}

function splitOptions(text: string): string[] {
  return text === "" ? [] : text.split(",").map(unescapeMountField);
}

/** The mountinfo line the kernel would write for `entry` (its `line` field is not consulted). */
export function formatMountInfoLine(entry: Omit<MountInfo, "line">): string {
  const options = (list: string[]) => list.map(escapeMountField).join(",");
  return [
    entry.mountId,
    entry.parentId,
    entry.device,
    escapeMountField(entry.root),
    escapeMountField(entry.mountPoint),
    options(entry.options),
    ...entry.optionalFields,
    "-",
    entry.fsType,
    escapeMountField(entry.source),
    options(entry.superOptions),
  ].join(" ");
}

/**
 * A path as the kernel compares it: repeated slashes collapsed, no trailing slash. (`.` and `..`
 * are left alone; mountinfo never contains them.)
 */
export function normalizePath(path: string): string {
  const collapsed = path.replace(/\/{2,}/g, "/");
  return collapsed.length > 1 && collapsed.endsWith("/") ? collapsed.slice(0, -1) : collapsed;
}

/**
 * How findmnt prints text in a table in the C locale (util-linux's `mbs_safe_encode`): control
 * bytes, DEL and every non-ASCII byte as `\xHH`, a backslash only when `x` follows it, spaces as
 * they are. The node image sets no locale, so the entrypoint's findmnt runs in the C locale.
 */
export function findmntEncode(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    const hex = b < 0x20 || b >= 0x7f || (b === 0x5c && bytes[i + 1] === 0x78);
    out += hex ? `\\x${b.toString(16).padStart(2, "0")}` : String.fromCharCode(b);
  }
  return out;
}

/**
 * findmnt's SOURCE column: the source, and the mounted directory in brackets when that is not
 * the filesystem's root (`cgroup[/docker/0123abcd]` for a cgroup v1 hierarchy seen from a
 * container without its own cgroup namespace).
 */
export function findmntSource(entry: Pick<MountInfo, "source" | "root">): string {
  return entry.root === "/" ? entry.source : `${entry.source}[${entry.root}]`;
}

/**
 * The lines of `findmnt -lun -o source,target -t FSTYPE`: mounts of exactly that type (so
 * `cgroup` leaves out `cgroup2`) in mountinfo order, the SOURCE column padded to its widest
 * value but never narrower than its (unprinted) heading `SOURCE`, one space, then TARGET.
 */
export function findmntSourceTargetLines(mounts: readonly MountInfo[], fsType: string): string[] {
  const rows = mounts
    .filter((m) => m.fsType === fsType)
    .map((m) => [findmntEncode(findmntSource(m)), findmntEncode(m.mountPoint)]);
  const width = Math.max("SOURCE".length, ...rows.map(([source]) => source.length));
  return rows.map(([source, target]) => `${source.padEnd(width)} ${target}`);
}

/** Whether `findmnt PATH` finds a mount whose mount point is `path` (it exits 0 then). */
export function isMountPoint(mounts: readonly MountInfo[], path: string): boolean {
  const wanted = normalizePath(path);
  return mounts.some((m) => m.mountPoint === wanted);
}

/** The mount on top at exactly `path`: the last one mounted there. */
export function topMountAt(mounts: readonly MountInfo[], path: string): MountInfo | undefined {
  const wanted = normalizePath(path);
  return mounts.findLast((m) => m.mountPoint === wanted);
}

/**
 * The mount through which `path` is reached: the one on top at the longest mount point that
 * contains `path`. With `below`, mounts exactly at `path` are ignored, which gives what `path`
 * would show if they were unmounted.
 */
export function coveringMount(
  mounts: readonly MountInfo[],
  path: string,
  options: { below?: boolean } = {},
): MountInfo | undefined {
  const wanted = normalizePath(path);
  let best: MountInfo | undefined;
  for (const m of mounts) {
    if (options.below && m.mountPoint === wanted) continue;
    if (!isWithin(wanted, m.mountPoint)) continue;
    if (!best || m.mountPoint.length >= best.mountPoint.length) best = m;
  }
  return best;
}

/** Whether `path` is `dir` or lies beneath it (both normalized). */
export function isWithin(path: string, dir: string): boolean {
  return dir === "/" || path === dir || path.startsWith(dir + "/");
}

/** The directory of the filesystem that `path` shows, reached through `mount`. */
export function rootOfPath(mount: Pick<MountInfo, "root" | "mountPoint">, path: string): string {
  const rest = normalizePath(path).slice(mount.mountPoint === "/" ? 0 : mount.mountPoint.length);
  return normalizePath(mount.root === "/" ? rest || "/" : mount.root + rest);
}

/**
 * Whether the mount on top at `target` shows what `mount --bind SOURCE TARGET` would mount there
 * (same filesystem, same directory of it). For a self bind mount, SOURCE is looked up as if the
 * mounts at TARGET were not there.
 */
export function showsBindOf(mounts: readonly MountInfo[], source: string, target: string): boolean {
  const top = topMountAt(mounts, target);
  const self = normalizePath(source) === normalizePath(target);
  const from = coveringMount(mounts, source, { below: self });
  return top !== undefined && from !== undefined && top.device === from.device &&
    top.root === rootOfPath(from, source);
}

/**
 * mountinfo text as the kernel lists it once `op` has succeeded: a bind mount appends a line for
 * TARGET (the filesystem and directory SOURCE shows, a fresh mount ID, no propagation tags), an
 * umount drops the mount on top at TARGET. Other operations, and text that does not parse, come
 * back unchanged. For tables of mounts that are planned or faked rather than made.
 */
export function mountInfoAfter(text: string, op: MountOp): string {
  if (op.op !== "bind" && op.op !== "umount") return text;
  let mounts: MountInfo[];
  try {
    mounts = parseMountInfo(text);
  } catch {
    return text;
  }
  if (op.op === "umount") {
    const top = topMountAt(mounts, op.target);
    if (top) mounts.splice(mounts.lastIndexOf(top), 1);
  } else {
    const from = coveringMount(mounts, op.source);
    if (!from) return text;
    const entry = {
      ...from,
      mountId: Math.max(0, ...mounts.map((m) => m.mountId)) + 1,
      parentId: coveringMount(mounts, op.target)?.mountId ?? from.mountId,
      root: rootOfPath(from, op.source),
      mountPoint: normalizePath(op.target),
      optionalFields: [],
    };
    mounts.push({ ...entry, line: formatMountInfoLine(entry) });
  }
  return mounts.map((m) => m.line + "\n").join("");
}
