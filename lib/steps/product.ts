/**
 * DMI identity: nodes share the host's DMI, so kind hides the product name and gives each node
 * its own product UUID, by bind mounting files from /kind over the sysfs ones.
 */
import type { Announcements, Files, MountChanges } from "../host/host.ts";
import { isMountPoint, parseMountInfo } from "../host/mountinfo.ts";
import type { Rerun } from "./step.ts";

export const PRODUCT_NAME = "/sys/class/dmi/id/product_name";
export const PRODUCT_UUID = "/sys/class/dmi/id/product_uuid";
export const VIRTUAL_PRODUCT_UUID = "/sys/devices/virtual/dmi/id/product_uuid";
export const KIND_PRODUCT_NAME = "/kind/product_name";
/** Kept across container restarts, so a node keeps its UUID. */
export const KIND_PRODUCT_UUID = "/kind/product_uuid";
export const RANDOM_UUID = "/proc/sys/kernel/random/uuid";

type ProductHost = Files & MountChanges & Announcements;
const FIRST_RUN: Rerun = {};

/** /sys/class/dmi/id is a symlink to /sys/devices/virtual/dmi/id; mountinfo shows the latter. */
function sysfsPaths(file: string): string[] {
  return [file, file.replace("/sys/class/dmi/id/", "/sys/devices/virtual/dmi/id/")];
}

/**
 * The read-only bind of `source` over `target`, except on a rerun in the same boot when `target`
 * is already a mount point: kind's bash would stack one more mount on every run.
 */
async function bindReadOnly(host: ProductHost, source: string, target: string, context: Rerun) {
  if (context.rerun) {
    let mounted = false;
    try {
      const mounts = parseMountInfo(host.readText("/proc/self/mountinfo"));
      mounted = sysfsPaths(target).some((path) => isMountPoint(mounts, path));
    } catch {
      // Unreadable mountinfo: bind as kind's bash would.
    }
    if (mounted) return;
  }
  await host.mount({ op: "bind", source, target, readOnly: true });
}

/** kind's `fix_product_name`: the product name reads `kind`. */
export async function fixProductName(host: ProductHost, context = FIRST_RUN): Promise<void> {
  if (host.kind(PRODUCT_NAME) !== "file") return;
  host.announce('faking /sys/class/dmi/id/product_name to be "kind"');
  host.writeText(KIND_PRODUCT_NAME, "kind\n");
  await bindReadOnly(host, KIND_PRODUCT_NAME, PRODUCT_NAME, context);
}

/** kind's `fix_product_uuid`: a random UUID made once per node, shown in both sysfs paths. */
export async function fixProductUuid(host: ProductHost, context = FIRST_RUN): Promise<void> {
  if (host.kind(KIND_PRODUCT_UUID) !== "file") {
    host.writeText(KIND_PRODUCT_UUID, host.readText(RANDOM_UUID));
  }
  if (host.kind(PRODUCT_UUID) === "file") {
    host.announce("faking /sys/class/dmi/id/product_uuid to be random");
    await bindReadOnly(host, KIND_PRODUCT_UUID, PRODUCT_UUID, context);
  }
  if (host.kind(VIRTUAL_PRODUCT_UUID) === "file") {
    host.announce("faking /sys/devices/virtual/dmi/id/product_uuid as well");
    await bindReadOnly(host, KIND_PRODUCT_UUID, VIRTUAL_PRODUCT_UUID, context);
  }
}
