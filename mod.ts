/**
 * kind-entrypoint-ts's public API: build a kind node entrypoint of your own from kind's steps
 * and steps you write, with everything a built-in step gets (bounded commands, one `ERROR:` line
 * with kind's exit status, a place in the dry-run plan, the fake host for tests).
 *
 * ```ts
 * import { insertAfter, KIND_STEPS, main, type Step } from "kind-entrypoint-ts";
 * const sysctl: Step = { name: "sysctl", run: (host) => host.writeText(FILE, "...") };
 * await main(insertAfter(KIND_STEPS, "containerd", sysctl));
 * ```
 *
 * This module is the versioned surface (package.json's version follows semver for it); every
 * other module is internal and may change in any release.
 */
import { STEPS } from "./lib/boot/steps.ts";
import type { Step } from "./lib/steps/step.ts";

/** kind's steps in kind's order; entrypoint.ts runs exactly these. */
export const KIND_STEPS: readonly Step[] = STEPS;

/** A boot step: a name and a `run` that reads and changes the node through the host it gets. */
export type { Step };

export { insertAfter, insertBefore, replaceStep } from "./lib/boot/compose.ts";
export { main } from "./lib/boot/main.ts";
export { CommandError, EntrypointError } from "./lib/errors.ts";
export type { StepContext } from "./lib/steps/step.ts";
// The host, as capabilities: a step's `run` names the ones it uses in its parameter type.
export type {
  Announcements,
  Changes,
  CommandChanges,
  CommandQueries,
  Commands,
  Environment,
  Family,
  FileChanges,
  FileQueries,
  Files,
  Host,
  Log,
  Lookups,
  MountChanges,
  MountQueries,
  Mounts,
  PathKind,
  Queries,
  QueryArgv,
  QueryOptions,
  RunOptions,
  RunResult,
  StreamMode,
  Trial,
  Trials,
  WriteOptions,
} from "./lib/host/host.ts";
export type { MountOp } from "./lib/host/mount_op.ts";
export type { LogLevel } from "./lib/log.ts";
