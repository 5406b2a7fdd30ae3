/**
 * The steps of kind's entrypoint, in kind's order. The order matters: kind runs the configure*
 * steps first so that nothing started later races with them.
 */
import { fixCgroup } from "./cgroups.ts";
import { configureContainerd } from "./containerd.ts";
import type { Host } from "./host.ts";
import { type IptablesDumps, selectIptables, startIptablesDumps } from "./iptables_mode.ts";
import { fixMachineId } from "./machine_id.ts";
import { fixMount } from "./mounts.ts";
import { enableNetworkMagic } from "./network_magic.ts";
import { fixProductName, fixProductUuid } from "./product.ts";
import { configureProxy } from "./proxy.ts";
import { validateUserns } from "./userns.ts";

/** What the steps learn before they run. */
export interface StepContext {
  /** Running in a non-initial user namespace (rootless Docker/Podman). */
  userns: boolean;
  /**
   * The entrypoint already ran in this container boot (see lib/rerun.ts): steps that kind's
   * bash would repeat harmfully (machine-id, stacked bind mounts) leave their work alone.
   */
  rerun?: boolean;
  /** select_iptables' rule dumps, started by its prefetch. */
  iptablesDumps?: IptablesDumps;
}

/** One step: its name (for KIND_ENTRYPOINT_STEPS and error messages) and kind's function. */
export interface Step {
  name: string;
  /** The function of kind's bash entrypoint this step ports. */
  original: string;
  run(host: Host, context: StepContext): Promise<void>;
  /**
   * Starts read-only work of this step before the first step runs, so that it overlaps the
   * steps before it; only for work whose result cannot depend on what those steps change.
   */
  prefetch?(host: Host, context: StepContext): void;
}

/** Every step, in the order kind runs them. */
export const STEPS: readonly Step[] = [
  {
    name: "userns",
    original: "validate_userns",
    run: (host, context) => Promise.resolve(validateUserns(host, context)),
  },
  {
    name: "containerd",
    original: "configure_containerd",
    run: (host, context) => configureContainerd(host, context),
  },
  {
    name: "proxy",
    original: "configure_proxy",
    run: (host) => Promise.resolve(configureProxy(host)),
  },
  { name: "mount", original: "fix_mount", run: (host, context) => fixMount(host, context) },
  { name: "cgroup", original: "fix_cgroup", run: (host, context) => fixCgroup(host, context) },
  {
    name: "machine_id",
    original: "fix_machine_id",
    run: (host, context) => fixMachineId(host, context),
  },
  {
    name: "product_name",
    original: "fix_product_name",
    run: (host, context) => fixProductName(host, context),
  },
  {
    name: "product_uuid",
    original: "fix_product_uuid",
    run: (host, context) => fixProductUuid(host, context),
  },
  {
    name: "iptables",
    original: "select_iptables",
    // The dumps only read the netfilter rule sets, and no step before select_iptables touches
    // netfilter (they write files, mounts and the machine-id), so they count what they would
    // count at kind's point in the order; their ~20 ms of program starts overlap earlier steps.
    prefetch: (host, context) => {
      context.iptablesDumps = startIptablesDumps(host);
    },
    run: (host, context) => selectIptables(host, context.iptablesDumps),
  },
  {
    name: "network_magic",
    original: "enable_network_magic",
    run: (host) => enableNetworkMagic(host),
  },
];

/** The `KIND_ENTRYPOINT_STEPS` value that runs no step at all (only detection and exec). */
export const NO_STEPS = "none";

/**
 * Step names from `KIND_ENTRYPOINT_STEPS` (comma or space separated); undefined means all, and
 * `none` alone selects no step, for running only the exec (tests of the exec itself).
 */
export function selectSteps(value: string | undefined): Set<string> | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const names = new Set(value.split(/[\s,]+/).filter(Boolean));
  if (names.has(NO_STEPS)) {
    if (names.size > 1) {
      throw new Error(`KIND_ENTRYPOINT_STEPS=${NO_STEPS} cannot be combined with step names`);
    }
    return new Set();
  }
  const known = new Set(STEPS.map((step) => step.name));
  const unknown = [...names].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new Error(
      `KIND_ENTRYPOINT_STEPS names unknown steps: ${unknown.join(", ")} (known: ${
        [...known].join(", ")
      }, or ${NO_STEPS})`,
    );
  }
  return names;
}
