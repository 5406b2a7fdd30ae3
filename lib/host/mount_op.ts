/**
 * A mount(2) operation in the terms kind's bash uses with mount(8). Keeping it typed lets the
 * real host choose how to perform it (lib/host/syscalls.ts, or the `mount` program without FFI) and
 * lets tests and the dry run show exactly what would be mounted.
 */
export type MountOp =
  /** `mount --bind SOURCE TARGET`, or `mount -o ro,bind` when readOnly. */
  | { op: "bind"; source: string; target: string; readOnly?: boolean }
  /** `mount -o remount,ro TARGET`. */
  | { op: "remount-ro"; target: string }
  /** `mount --make-rshared TARGET` / `mount --make-rprivate TARGET`. */
  | { op: "propagation"; target: string; propagation: "rshared" | "rprivate" }
  /** `mount -t overlay -o lowerdir=L,upperdir=U,workdir=W overlay TARGET`. */
  | { op: "overlay"; lower: string; upper: string; work: string; target: string }
  /** `umount TARGET`. */
  | { op: "umount"; target: string };

/** The mount(8)/umount(8) command line kind's bash runs for `op`. */
export function mountArgv(op: MountOp): string[] {
  switch (op.op) {
    case "bind":
      return op.readOnly
        ? ["mount", "-o", "ro,bind", op.source, op.target]
        : ["mount", "--bind", op.source, op.target];
    case "remount-ro":
      return ["mount", "-o", "remount,ro", op.target];
    case "propagation":
      return ["mount", `--make-${op.propagation}`, op.target];
    case "overlay":
      return [
        "mount",
        "-t",
        "overlay",
        "-o",
        `lowerdir=${op.lower},upperdir=${op.upper},workdir=${op.work}`,
        "overlay",
        op.target,
      ];
    case "umount":
      return ["umount", op.target];
  }
}
