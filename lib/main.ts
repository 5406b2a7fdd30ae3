/** The entrypoint as a function of a host, so that tests can run all of it against a fake. */
import { EntrypointError, inStep } from "./errors.ts";
import type { Host } from "./host.ts";
import { selectSteps, type StepContext, STEPS } from "./steps.ts";

/** Replaces the process with `argv` (see lib/exec.ts); never returns on success. */
export type ExecFn = (argv: readonly string[]) => Promise<never>;

/**
 * Runs every step in kind's order, logs `starting init` and execs the command. With no command
 * it returns, as kind's bash does (`exec` with no arguments does nothing and the script ends).
 */
export async function runEntrypoint(
  host: Host,
  argv: readonly string[],
  exec: ExecFn,
): Promise<void> {
  let only: Set<string> | undefined;
  try {
    only = selectSteps(host.env("KIND_ENTRYPOINT_STEPS"));
  } catch (error) {
    throw new EntrypointError((error as Error).message);
  }
  const context: StepContext = { userns: false };
  for (const step of STEPS) {
    if (only && !only.has(step.name)) continue;
    try {
      await step.run(host, context);
    } catch (error) {
      throw inStep(step.original, error);
    }
  }
  host.log("INFO", "starting init");
  if (argv.length === 0) return;
  await exec(argv);
}

/** Prints the one `ERROR:` line for a failure and returns the exit status to use. */
export function reportFailure(host: Pick<Host, "log">, error: unknown): number {
  if (error instanceof EntrypointError) {
    host.log("ERROR", error.message);
    return error.exitCode;
  }
  const detail = error instanceof Error ? error.stack ?? error.message : String(error);
  host.log("ERROR", `Unexpected failure: ${detail}`);
  return 1;
}
