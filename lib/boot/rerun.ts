/**
 * Telling a second run in the same container boot (`docker exec NODE entrypoint true`) from a
 * first run after a start or restart. kind's bash cannot: run twice it regenerates the machine-id
 * under a running systemd and stacks its bind mounts again. The boot is identified by the start
 * time of PID 1, which is this entrypoint itself on a first run and the init it became afterwards;
 * a restart starts a new PID 1.
 */
import type { FileChanges, FileQueries } from "../host/host.ts";

/** Where the entrypoint records the boot it ran in (/run is a fresh tmpfs in every kind node). */
export const BOOT_MARKER = "/run/kind-entrypoint-ts/boot";
export const PID1_STAT = "/proc/1/stat";

/** Field 22 (starttime, in clock ticks since the host booted) of a /proc/PID/stat line. */
export function parseStartTime(stat: string): string | undefined {
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).trim().split(" ");
  const startTime = fields[22 - 3];
  return startTime && /^\d+$/.test(startTime) ? startTime : undefined;
}

/** This boot's identity and whether the entrypoint already ran in it. */
export interface BootState {
  boot: string | undefined;
  rerun: boolean;
}

/** Reads PID 1's start time and the marker; unreadable files mean "first run". */
export function detectRerun(host: FileQueries): BootState {
  let boot: string | undefined;
  try {
    boot = parseStartTime(host.readText(PID1_STAT));
  } catch {
    return { boot: undefined, rerun: false };
  }
  if (boot === undefined || host.kind(BOOT_MARKER) !== "file") return { boot, rerun: false };
  try {
    return { boot, rerun: host.readText(BOOT_MARKER).trim() === boot };
  } catch {
    return { boot, rerun: false };
  }
}

/** Records that the entrypoint ran in this boot; failing to do so only loses the rerun guard. */
export function markBoot(host: FileChanges, boot: string | undefined) {
  if (boot === undefined) return;
  try {
    host.mkdirp(BOOT_MARKER.slice(0, BOOT_MARKER.lastIndexOf("/")));
    host.writeText(BOOT_MARKER, `${boot}\n`);
  } catch {
    // /run read-only or missing: the next run is treated as a first run, as kind's bash does.
  }
}
