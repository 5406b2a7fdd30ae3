/**
 * A fresh machine-id per node: kubelet and CNI plugins tell nodes apart by it, and every node
 * starts from the same image.
 */
import type { Announcements, CommandChanges, FileChanges, Log } from "../host/host.ts";
import type { Rerun } from "./step.ts";

export const MACHINE_ID = "/etc/machine-id";

/** kind's `fix_machine_id`: remove the image's id and let systemd generate a new one. */
export async function fixMachineId(
  host: FileChanges & CommandChanges & Log & Announcements,
  context: Rerun = {},
): Promise<void> {
  if (context.rerun) {
    // systemd already runs with this id; a new one would split the journal and confuse kubelet.
    host.log("INFO", "keeping /etc/machine-id: the entrypoint already ran in this container boot");
    return;
  }
  host.announce("clearing and regenerating /etc/machine-id");
  host.remove(MACHINE_ID);
  // Its `Initializing machine ID ...` line is part of the node's log, as with kind's bash.
  await host.run(["systemd-machine-id-setup"], { stdout: "forward" });
}
