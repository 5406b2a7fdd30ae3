/**
 * DMI identity: nodes share the host's DMI, so kind hides the product name and gives each node
 * its own product UUID, by bind mounting files from /kind over the sysfs ones.
 */
import type { Host } from "./host.ts";

export const PRODUCT_NAME = "/sys/class/dmi/id/product_name";
export const PRODUCT_UUID = "/sys/class/dmi/id/product_uuid";
export const VIRTUAL_PRODUCT_UUID = "/sys/devices/virtual/dmi/id/product_uuid";
export const KIND_PRODUCT_NAME = "/kind/product_name";
/** Kept across container restarts, so a node keeps its UUID. */
export const KIND_PRODUCT_UUID = "/kind/product_uuid";
export const RANDOM_UUID = "/proc/sys/kernel/random/uuid";

type ProductHost = Pick<Host, "kind" | "log" | "writeText" | "readText" | "mount">;

/** kind's `fix_product_name`: the product name reads `kind`. */
export async function fixProductName(host: ProductHost): Promise<void> {
  if (host.kind(PRODUCT_NAME) !== "file") return;
  host.log("INFO", 'faking /sys/class/dmi/id/product_name to be "kind"');
  host.writeText(KIND_PRODUCT_NAME, "kind\n");
  await host.mount({ op: "bind", source: KIND_PRODUCT_NAME, target: PRODUCT_NAME, readOnly: true });
}

/** kind's `fix_product_uuid`: a random UUID made once per node, shown in both sysfs paths. */
export async function fixProductUuid(host: ProductHost): Promise<void> {
  if (host.kind(KIND_PRODUCT_UUID) !== "file") {
    host.writeText(KIND_PRODUCT_UUID, host.readText(RANDOM_UUID));
  }
  if (host.kind(PRODUCT_UUID) === "file") {
    host.log("INFO", "faking /sys/class/dmi/id/product_uuid to be random");
    await host.mount({
      op: "bind",
      source: KIND_PRODUCT_UUID,
      target: PRODUCT_UUID,
      readOnly: true,
    });
  }
  if (host.kind(VIRTUAL_PRODUCT_UUID) === "file") {
    host.log("INFO", "faking /sys/devices/virtual/dmi/id/product_uuid as well");
    await host.mount({
      op: "bind",
      source: KIND_PRODUCT_UUID,
      target: VIRTUAL_PRODUCT_UUID,
      readOnly: true,
    });
  }
}
