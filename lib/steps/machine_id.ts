/**
 * A fresh machine-id per node: kubelet and CNI plugins tell nodes apart by it, and every node
 * starts from the same image.
 */
import {
  type Announcements,
  type CommandChanges,
  type CommandQueries,
  type FileChanges,
  type FileQueries,
  type Log,
  readOptional,
} from "../host/host.ts";
import type { Rerun } from "./step.ts";
import { RANDOM_UUID } from "./product.ts";

export const MACHINE_ID = "/etc/machine-id";

/** The program kind's bash runs to make the new id. */
export const MACHINE_ID_SETUP = "systemd-machine-id-setup";

/** Where systemd installs it: only that program's work is done in-process (a wrapper elsewhere on PATH runs). */
export const MACHINE_ID_SETUP_PATH = "/usr/bin/systemd-machine-id-setup";

/** PID 1's environment, where that program looks for `container` and `container_uuid`. */
export const PID1_ENVIRON = "/proc/1/environ";

/** What that program prints when it makes a random id. */
export const RANDOM_ID_LINE = "Initializing machine ID from random generator.";

/** The mode that program gives /etc/machine-id, whatever the umask. */
export const MACHINE_ID_MODE = 0o444;

/** A version 4 UUID as the kernel's RANDOM_UUID prints it. */
const V4_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\n?$/;

/** The value of `name` in a NUL-separated environment block (/proc/PID/environ); undefined when unset. */
export function environValue(environ: string, name: string): string | undefined {
  const prefix = `${name}=`;
  for (const entry of environ.split("\0")) {
    if (entry.startsWith(prefix)) return entry.slice(prefix.length);
  }
  return undefined;
}

/**
 * The id systemd-machine-id-setup (no arguments, no /etc/machine-id) writes when it makes a
 * random one, from PID 1's environment and a random version 4 UUID: in a container (PID 1's
 * `container` set and not empty) that passes no `container_uuid`, it prints RANDOM_ID_LINE and
 * writes the random UUID's 32 hex digits (the version and variant bits of a v4 UUID, as
 * sd_id128_randomize sets them), a newline, mode 0444. Undefined where the program decides by
 * more than that (a `container_uuid` it may take, a VM's DMI UUID outside a container) or the
 * UUID is not a v4 one: the program then runs.
 */
export function randomMachineId(pid1Environ: string, randomUuid: string): string | undefined {
  if (!environValue(pid1Environ, "container")) return undefined;
  if (environValue(pid1Environ, "container_uuid") !== undefined) return undefined;
  if (!V4_UUID.test(randomUuid)) return undefined;
  return randomUuid.trim().replaceAll("-", "");
}

/** kind's `fix_machine_id`: remove the image's id and let systemd generate a new one. */
export async function fixMachineId(
  host: FileQueries & FileChanges & CommandQueries & CommandChanges & Log & Announcements,
  context: Rerun = {},
): Promise<void> {
  if (context.rerun) {
    // systemd already runs with this id; a new one would split the journal and confuse kubelet.
    host.log("INFO", "keeping /etc/machine-id: the entrypoint already ran in this container boot");
    return;
  }
  host.announce("clearing and regenerating /etc/machine-id");
  host.remove(MACHINE_ID);
  if (writeRandomMachineId(host)) return;
  // Its `Initializing machine ID ...` line is part of the node's log, as with kind's bash.
  await host.run([MACHINE_ID_SETUP], { stdout: "forward" });
}

/**
 * Writes what systemd-machine-id-setup would, in-process, when it would make a random id (see
 * `randomMachineId`) and PATH finds systemd's program: a node image without it stops at this
 * step as with kind's bash. False when the program is to run instead, also when the write fails: the program then
 * takes its own fallbacks (a read-only /etc gets /run/machine-id bind mounted).
 */
function writeRandomMachineId(
  host: FileQueries & FileChanges & CommandQueries & Announcements,
): boolean {
  if (host.which(MACHINE_ID_SETUP) !== MACHINE_ID_SETUP_PATH) return false;
  const environ = readOptional(host, PID1_ENVIRON);
  const uuid = readOptional(host, RANDOM_UUID);
  const id = environ !== undefined && uuid !== undefined
    ? randomMachineId(environ, uuid)
    : undefined;
  if (id === undefined) return false;
  try {
    // Synced with its directory, as the program syncs both: a power loss right after the boot
    // must not leave an empty id, which systemd would take for a first boot.
    host.writeText(MACHINE_ID, `${id}\n`, { mode: MACHINE_ID_MODE, durable: true });
    // The create mode passes through the umask; the program's does not.
    host.chmod(MACHINE_ID, MACHINE_ID_MODE);
  } catch {
    return false;
  }
  host.echo(RANDOM_ID_LINE);
  return true;
}
