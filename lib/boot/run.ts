/** The entrypoint as a function of a host, so that tests can run all of it against a fake. */
import { EntrypointError, inStep } from "../errors.ts";
import { EXIT_CANNOT_EXECUTE } from "../exit_status.ts";
import type { Host, Log } from "../host/host.ts";
import { throwIfStopRequested } from "./signals.ts";
import { checkSteps } from "./compose.ts";
import { type KindContext, type KindStep, STEPS } from "./steps.ts";
import { stepLabel } from "../steps/step.ts";
import { readSwitch } from "./switches.ts";
import { detectUserns } from "../steps/userns.ts";
import { detectRerun, markBoot } from "./rerun.ts";
import { newHandoffs } from "./handoffs.ts";

/** Replaces the process with `argv` (see lib/host/exec.ts); never returns on success. */
export interface ExecFn {
  (argv: readonly string[]): Promise<never>;
  /**
   * Why this runtime cannot replace its process, or undefined when it can. Asked before any step
   * runs, so that a runtime without exec stops before it has changed anything.
   */
  unsupported?: () => string | undefined;
}

/** Watches a run from outside, such as the timing trace (lib/boot/trace.ts) that bench/ reads. */
export interface StepObserver {
  /** Runs step `name` through `run` (and may time it); must return what `run` returns. */
  step(name: string, run: () => Promise<void>): Promise<void>;
  /** Called right before exec. */
  beforeExec?(): void;
}

/** Options of `run`. */
export interface BootOptions {
  observer?: StepObserver;
  /** The steps to run, in order (default: kind's, `STEPS`). */
  steps?: readonly KindStep[];
  /** Loads the DNS prober for the check after the network magic; a dry run passes none. */
  loadProbe?: KindContext["loadProbe"];
}

/**
 * Runs every step in order (kind's, unless `options.steps` says otherwise), logs `starting init`
 * and execs the command. With no command it returns, as kind's bash does (`exec` with no
 * arguments does nothing and the script ends), so only a run with a command needs a runtime that
 * can exec.
 */
export async function run(
  host: Host,
  argv: readonly string[],
  exec: ExecFn,
  options: BootOptions = {},
): Promise<void> {
  const steps = options.steps ?? STEPS;
  try {
    checkSteps(steps);
  } catch (error) {
    throw new EntrypointError((error as Error).message);
  }
  const only = readSwitch(host, "KIND_ENTRYPOINT_STEPS", steps);
  if (argv.length > 0) {
    const unsupported = exec.unsupported?.();
    if (unsupported) throw new EntrypointError(unsupported, { exitCode: EXIT_CANNOT_EXECUTE });
  }
  // Before any step, as kind's bash: its first log line, and steps branch on the answer.
  const boot = detectRerun(host);
  const context: KindContext = {
    userns: detectUserns(host),
    rerun: boot.rerun,
    loadProbe: options.loadProbe,
    handoffs: newHandoffs(),
  };
  // Read-only work of later steps starts now and overlaps the earlier ones (see Step.prefetch).
  for (const step of steps) if (!only || only.has(step.name)) step.prefetch?.(host, context);
  for (const step of steps) {
    if (only && !only.has(step.name)) continue;
    // A SIGTERM/SIGINT during a step takes effect here, never halfway through a write.
    throwIfStopRequested(`before ${stepLabel(step)}`);
    const runStep = async () => await step.run(host, context);
    try {
      await (options.observer ? options.observer.step(step.name, runStep) : runStep());
    } catch (error) {
      throw inStep(stepLabel(step), error);
    }
  }
  // Only a complete run counts: a failed first run is repeated in full by the next one.
  if (!only) markBoot(host, boot.boot);
  throwIfStopRequested("after the last step");
  host.announce("starting init");
  if (argv.length === 0) return;
  options.observer?.beforeExec?.();
  await exec(argv);
}

/** Prints the one `ERROR:` line for a failure and returns the exit status to use. */
export function reportFailure(host: Log, error: unknown): number {
  if (error instanceof EntrypointError) {
    host.log("ERROR", error.message);
    return error.exitCode;
  }
  const detail = error instanceof Error ? error.stack ?? error.message : String(error);
  host.log("ERROR", `Unexpected failure: ${detail}`);
  return 1;
}
