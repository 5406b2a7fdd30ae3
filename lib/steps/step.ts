/**
 * What a step is and what it learns before it runs: the contract between the runner
 * (lib/boot/) and every step, kind's (lib/steps/, lib/dns/) or one's own (mod.ts's `Step`).
 */
import type { Host } from "../host/host.ts";

/** What a step knows of an earlier run: true when the entrypoint already ran in this boot. */
export interface Rerun {
  rerun?: boolean;
}

/** What every step learns before the first one runs. */
export interface StepContext {
  /** Running in a non-initial user namespace (rootless Docker/Podman). */
  readonly userns: boolean;
  /**
   * The entrypoint already ran in this container boot (see lib/boot/rerun.ts): steps that kind's
   * bash would repeat harmfully (machine-id, stacked bind mounts) leave their work alone.
   */
  readonly rerun?: boolean;
}

/**
 * A boot step: its name, and what it does through the host. A step's `run` declares in its
 * parameter type the host capabilities it reads and changes; it gets the real host, or in a dry
 * run one whose changes only record plan entries.
 */
export interface Step {
  /** For `KIND_ENTRYPOINT_STEPS` and error lines: lower-case letters, digits, underscores. */
  readonly name: string;
  /**
   * The function of kind's bash entrypoint this step ports; its `ERROR:` lines start with it.
   * Steps of one's own leave it out and their name is used.
   */
  readonly original?: string;
  /** Does the step's work; a throw stops the boot with one `ERROR:` line. */
  run(host: Host, context: StepContext): void | Promise<void>;
}

/** The name a step's `ERROR:` lines start with: kind's function, or the step's own name. */
export function stepLabel(step: Step): string {
  return step.original ?? step.name;
}
