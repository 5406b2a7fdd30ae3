/**
 * The steps of kind's entrypoint, in kind's order. The order matters: kind runs the configure*
 * steps first so that nothing started later races with them.
 */
import type { Host } from "./host.ts";
import { enableNetworkMagic } from "./network_magic.ts";

/** What the steps learn before they run. */
export interface StepContext {
  /** Running in a non-initial user namespace (rootless Docker/Podman). */
  userns: boolean;
}

/** One step: its name (for KIND_ENTRYPOINT_STEPS and error messages) and kind's function. */
export interface Step {
  name: string;
  /** The function of kind's bash entrypoint this step ports. */
  original: string;
  run(host: Host, context: StepContext): Promise<void>;
}

/** Every step, in the order kind runs them. */
export const STEPS: readonly Step[] = [
  {
    name: "network_magic",
    original: "enable_network_magic",
    run: (host) => enableNetworkMagic(host),
  },
];

/** Step names from `KIND_ENTRYPOINT_STEPS` (comma or space separated); undefined means all. */
export function selectSteps(value: string | undefined): Set<string> | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const names = new Set(value.split(/[\s,]+/).filter(Boolean));
  const known = new Set(STEPS.map((step) => step.name));
  const unknown = [...names].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new Error(
      `KIND_ENTRYPOINT_STEPS names unknown steps: ${unknown.join(", ")} (known: ${
        [...known].join(", ")
      })`,
    );
  }
  return names;
}
