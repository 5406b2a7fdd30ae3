/**
 * Mount set-up for systemd in a container: usable mount/umount binaries, a read-only /sys (as
 * systemd's container interface expects) and shared propagation for kubelet's volume mounts.
 */
import { EntrypointError } from "../errors.ts";
import type { Announcements, Commands, Files, Log, Mounts } from "../host/host.ts";
import { filesystemType } from "./filesystem.ts";

/** setuid and setgid: what `chmod -s` clears on a regular file. */
export const SET_ID_BITS = 0o6000;

/** How long `sync` may take on aufs. */
export const SYNC_TIMEOUT_MS = 60_000;

/** The mode `chmod -s` leaves. */
export function withoutSetIdBits(mode: number): number {
  return mode & ~SET_ID_BITS;
}

type MountsHost = Files & Commands & Mounts & Log & Announcements;

/** kind's `fix_mount`. */
export async function fixMount(host: MountsHost, context: { userns: boolean }): Promise<void> {
  host.announce("ensuring we can execute mount/umount even with userns-remap");
  // With userns-remap the binaries may belong to an unmapped owner; root must own them.
  const binaries = [host.which("mount"), host.which("umount")];
  forEachBinary(binaries, "chown root:root", (file) => host.chown(file, 0, 0));
  forEachBinary(binaries, "chmod -s", (file) => {
    // chmod cannot clear bits of a file it cannot stat: that operand fails, the others go on.
    const mode = host.mode(file);
    if (mode === undefined) throw new Error(`Cannot read the mode of ${file}: stat failed`);
    host.chmod(file, withoutSetIdBits(mode));
  });

  // aufs can report "Text file busy" for a binary that was just written unless synced first.
  // A failed stat only skips the sync: kind's bash tests its output inside `[[ ]]`.
  const mountFs = binaries[0] === undefined
    ? ""
    : await filesystemType(host, binaries[0], { nothrow: true });
  if (mountFs === "aufs") {
    host.announce("detected aufs, calling sync");
    // Flushes the host's dirty pages: may take long, but not forever.
    await host.run(["sync"], { timeoutMs: SYNC_TIMEOUT_MS });
  }

  host.announce("remounting /sys read-only");
  const remount = await host.mount({ op: "remount-ro", target: "/sys" }, { nothrow: true });
  if (remount.status !== 0) {
    // In a user namespace the kernel refuses this (EACCES); kind goes on without it.
    if (!context.userns) {
      const why = remount.timedOut ? "timed out" : `exited with status ${remount.status}`;
      throw new EntrypointError(
        `Cannot remount /sys read-only: \`mount -o remount,ro /sys\` ${why}${
          privilegeHint(remount.stderr)
        }`,
      );
    }
    host.log("INFO", "UserNS: ignoring mount fail");
  }

  host.announce("making mounts shared");
  await host.mount({ op: "propagation", target: "/", propagation: "rshared" });
}

/** Where the README shows how to start a node by hand with the privileges kind gives it. */
export const TRY_NODE_SECTION = 'README "Try a node without kind"';

/**
 * The hint for a /sys remount that the kernel refused for lack of privilege (EPERM or EACCES in
 * mount's message, as `docker run` without `--privileged` gives), else "".
 */
export function privilegeHint(mountStderr: string): string {
  const refusal = /operation not permitted|permission denied/i.exec(mountStderr);
  return refusal
    ? ` (${refusal[0].toLowerCase()}): kind runs nodes with --privileged; see ${TRY_NODE_SECTION}`
    : "";
}

/**
 * Applies `change` to each binary the way chown and chmod treat their operands: each one is tried,
 * and any that is missing (an empty operand in kind's bash) or fails makes the command fail at
 * the end.
 */
function forEachBinary(
  binaries: readonly (string | undefined)[],
  command: string,
  change: (file: string) => void,
): void {
  const failures: string[] = [];
  for (const [index, file] of binaries.entries()) {
    if (file === undefined) {
      failures.push(`${index === 0 ? "mount" : "umount"} is not in PATH`);
      continue;
    }
    try {
      change(file);
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  if (failures.length > 0) {
    throw new EntrypointError(`\`${command}\` of mount and umount failed: ${failures.join("; ")}`);
  }
}
