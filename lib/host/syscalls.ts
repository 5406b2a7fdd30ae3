/**
 * mount(2), umount2(2) and statfs(2) through Deno's FFI, so that a mount costs a system call
 * instead of a `mount` process (each of those is a fork, an exec and libmount's start-up: ~3 ms,
 * and fix_cgroup makes two dozen of them).
 *
 * Each `MountOp` is turned into the very calls util-linux 2.38's mount(8) and umount(8) make for
 * kind's command line (checked with strace in the test bed):
 *
 *   mount --bind S T          mount(S, T, NULL, MS_BIND, NULL)
 *   mount -o ro,bind S T      mount(S, T, NULL, MS_BIND|MS_RDONLY, NULL), then
 *                             mount("none", T, NULL, MS_REMOUNT|MS_BIND|MS_RDONLY, NULL)
 *   mount -o remount,ro T     mount(SOURCE, T, FSTYPE, MS_REMOUNT|MS_RDONLY|<T's flags>, <T's
 *                             fs options>), SOURCE, FSTYPE and the rest read from mountinfo as
 *                             libmount does (sysfs: nosuid,nodev,noexec,relatime kept, no data);
 *                             when T is not a mount point, mount("none", T, NULL,
 *                             MS_REMOUNT|MS_RDONLY, NULL), which the kernel refuses (EINVAL)
 *   mount --make-rshared T    mount("none", T, NULL, MS_REC|MS_SHARED, NULL)   (rprivate alike)
 *   mount -t overlay -o D overlay T   mount("overlay", T, "overlay", 0, D)
 *   umount T                  umount2(T, 0)
 *
 * Like mount(8), paths are canonicalised first. Where FFI is not available (Node, or Deno
 * without --allow-ffi) `loadSyscalls` answers undefined and the host runs the programs instead.
 */
import { runningAbi } from "./abi.ts";
import { cString, lastError, type Libc, loadLibc } from "./ffi.ts";
import type { MountOp } from "./mount_op.ts";
import { type MountInfo, parseMountInfo, topMountAt } from "./mountinfo.ts";

/** Flags of mount(2) (linux/mount.h). */
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  REC: 0x4000,
  PRIVATE: 0x40000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  LAZYTIME: 0x2000000,
} as const;

/** One mount(2) or umount2(2) call. */
export type Syscall =
  | {
    call: "mount";
    source: string | null;
    target: string;
    fsType: string | null;
    flags: number;
    data: string | null;
  }
  | { call: "umount2"; target: string; flags: number };

/** Per-mount options of mountinfo's sixth field that are mount(2) flags (`ro` is the caller's). */
const PER_MOUNT_FLAGS: Record<string, number> = {
  nosuid: MS.NOSUID,
  nodev: MS.NODEV,
  noexec: MS.NOEXEC,
  noatime: MS.NOATIME,
  nodiratime: MS.NODIRATIME,
  relatime: MS.RELATIME,
  nosymfollow: MS.NOSYMFOLLOW,
};

/** Superblock options that are mount(2) flags rather than filesystem data. */
const SUPER_FLAGS: Record<string, number> = {
  sync: MS.SYNCHRONOUS,
  dirsync: MS.DIRSYNC,
  mand: MS.MANDLOCK,
  lazytime: MS.LAZYTIME,
};

/**
 * The calls mount(8)/umount(8) make for `op`, with paths already canonical. `mounted` is the
 * mount on top at the target, needed (and only read) for a remount.
 */
export function mountSyscalls(op: MountOp, mounted?: MountInfo): Syscall[] {
  switch (op.op) {
    case "bind": {
      const bind: Syscall = {
        call: "mount",
        source: op.source,
        target: op.target,
        fsType: null,
        flags: MS.BIND | (op.readOnly ? MS.RDONLY : 0),
        data: null,
      };
      if (!op.readOnly) return [bind];
      // A bind mount ignores MS_RDONLY on the first call; mount(8) remounts it read-only.
      const remount: Syscall = {
        call: "mount",
        source: "none",
        target: op.target,
        fsType: null,
        flags: MS.REMOUNT | MS.BIND | MS.RDONLY,
        data: null,
      };
      return [bind, remount];
    }
    case "remount-ro": {
      // mount(8) still makes the call and reports the kernel's EINVAL as status 32: a failure
      // like any other, which the caller may tolerate.
      if (!mounted) {
        return [{
          call: "mount",
          source: "none",
          target: op.target,
          fsType: null,
          flags: MS.REMOUNT | MS.RDONLY,
          data: null,
        }];
      }
      let flags = MS.REMOUNT | MS.RDONLY;
      for (const option of mounted.options) flags |= PER_MOUNT_FLAGS[option] ?? 0;
      const data: string[] = [];
      for (const option of mounted.superOptions) {
        if (option === "rw" || option === "ro") continue;
        if (option in SUPER_FLAGS) flags |= SUPER_FLAGS[option];
        else data.push(option);
      }
      return [{
        call: "mount",
        source: mounted.source,
        target: op.target,
        fsType: mounted.fsType,
        flags,
        data: data.length > 0 ? data.join(",") : null,
      }];
    }
    case "propagation":
      return [{
        call: "mount",
        source: "none",
        target: op.target,
        fsType: null,
        flags: MS.REC | (op.propagation === "rshared" ? MS.SHARED : MS.PRIVATE),
        data: null,
      }];
    case "overlay":
      return [{
        call: "mount",
        source: "overlay",
        target: op.target,
        fsType: "overlay",
        flags: 0,
        data: `lowerdir=${op.lower},upperdir=${op.upper},workdir=${op.work}`,
      }];
    case "umount":
      return [{ call: "umount2", target: op.target, flags: 0 }];
  }
}

/** `MS_BIND|MS_RDONLY`-style text of mount(2) flags, for error messages. */
export function describeFlags(flags: number): string {
  const names = Object.entries(MS).filter(([, bit]) => flags & bit).map(([name]) => `MS_${name}`);
  return names.length > 0 ? names.join("|") : "0";
}

/** The C call as strace would show it, for error messages. */
export function describeSyscall(call: Syscall): string {
  const q = (s: string | null) => (s === null ? "NULL" : JSON.stringify(s));
  return call.call === "mount"
    ? `mount(${q(call.source)}, ${q(call.target)}, ${q(call.fsType)}, ${
      describeFlags(call.flags)
    }, ${q(call.data)})`
    : `umount2(${q(call.target)}, ${call.flags})`;
}

/** A failed system call: errno's name and strerror's text. */
export interface SyscallFailure {
  call: Syscall;
  errno: number;
  code: string;
  text: string;
}

/** The mount(2) family, bound to libc. */
export interface Syscalls {
  /** Performs `op` as mount(8) would; returns the first failure, or undefined on success. */
  mount(op: MountOp): SyscallFailure | undefined;
  /** statfs(2)'s f_type of `path`, or undefined when statfs fails. */
  statfsType(path: string): number | undefined;
}

let loaded: Syscalls | null | undefined;

/**
 * The syscalls, or undefined when this runtime has no FFI (Node, or Deno without the FFI
 * permission) or libc cannot be opened. Loaded once.
 */
export function loadSyscalls(): Syscalls | undefined {
  if (loaded === undefined) loaded = bindLibc() ?? null;
  return loaded ?? undefined;
}

function bindLibc(): Syscalls | undefined {
  const libc: Libc | undefined = loadLibc();
  if (libc === undefined) return undefined;
  const fail = (call: Syscall): SyscallFailure => {
    const { errno, name, text } = lastError(libc);
    return { call, errno, code: name, text };
  };
  return {
    mount(op) {
      const canonical = canonicalOp(op);
      const mounted = canonical.op === "remount-ro"
        ? topMountAt(
          parseMountInfo(Deno.readTextFileSync("/proc/self/mountinfo")),
          canonical.target,
        )
        : undefined;
      for (const call of mountSyscalls(canonical, mounted)) {
        const status = call.call === "mount"
          ? libc.mount(
            nullableCString(call.source),
            cString(call.target),
            nullableCString(call.fsType),
            BigInt(call.flags),
            nullableCString(call.data),
          )
          : libc.umount2(cString(call.target), call.flags);
        if (status !== 0) return fail(call);
      }
      return undefined;
    },
    statfsType(path) {
      // Without this architecture's layout the caller runs `stat` instead.
      const layout = runningAbi()?.statfs;
      if (layout === undefined) return undefined;
      const buffer = new Uint8Array(layout.bytes);
      if (libc.statfs(cString(path), buffer) !== 0) return undefined;
      // f_type is a long in the machine's byte order.
      return Number(new BigInt64Array(buffer.buffer, layout.typeOffset, 1)[0]);
    },
  };
}

/**
 * `op` with its paths made canonical as mount(8) does (symlinks resolved; a path that cannot be
 * resolved is passed on as given, so the kernel reports the error).
 */
function canonicalOp(op: MountOp): MountOp {
  if (op.op === "bind") {
    return { ...op, source: realpath(op.source), target: realpath(op.target) };
  }
  return { ...op, target: realpath(op.target) };
}

function realpath(file: string): string {
  try {
    return Deno.realPathSync(file);
  } catch {
    return file;
  }
}

function nullableCString(text: string | null): Uint8Array | null {
  return text === null ? null : cString(text);
}

/**
 * The names coreutils' `stat -f -c %T` prints for filesystem magics, limited to the ones checked
 * against coreutils in the test bed and those kind's bash compares with (zfs, fuseblk, aufs). For
 * any other magic the caller runs `stat` itself, so the answer is always coreutils' own.
 */
export const FILESYSTEM_NAMES: ReadonlyMap<number, string> = new Map([
  [0xef53, "ext2/ext3"],
  [0x01021994, "tmpfs"],
  [0x794c7630, "overlayfs"],
  [0x62656572, "sysfs"],
  [0x9fa0, "proc"],
  [0x0027e0eb, "cgroupfs"],
  [0x63677270, "cgroup2fs"],
  [0x58465342, "xfs"],
  [0x9123683e, "btrfs"],
  [0x2fc12fc1, "zfs"],
  [0x65735546, "fuseblk"],
  [0x61756673, "aufs"],
]);

/** The errno text of a failure, as mount(8) users know it: `Permission denied (EACCES)`. */
export function describeFailure(failure: SyscallFailure): string {
  return `${describeSyscall(failure.call)} failed: ${failure.text} (${failure.code})`;
}

/**
 * What `stat -f -c %T PATH` prints, when the magic is one `FILESYSTEM_NAMES` knows; undefined
 * (run `stat`) otherwise, also when statfs fails, so that stat reports the error as before.
 */
export function filesystemName(path: string): string | undefined {
  const type = loadSyscalls()?.statfsType(path);
  return type === undefined ? undefined : FILESYSTEM_NAMES.get(type);
}
