/**
 * Testing custom steps with the fake host the built-in steps are tested with: an in-memory
 * machine that records every command, write and log line in order. Versioned with mod.ts.
 *
 * ```ts
 * const host = new FakeHost({ env: { MY_SETTING: "1" }, dirs: ["/etc"] });
 * await mySteps[0].run(host, { userns: false });
 * assert.deepEqual(host.effects, [{ type: "write", path: "/etc/my.conf", data: "..." }]);
 * ```
 */
import { runDryRun } from "./lib/boot/dry_run.ts";
import type { Host, Queries } from "./lib/host/host.ts";
import { reportFailure, run } from "./lib/boot/run.ts";
import type { Step } from "./mod.ts";

export {
  type FakeCommand,
  type FakeCommandResult,
  type FakeEvent,
  FakeHost,
  type FakeHostOptions,
} from "./lib/host/fake.ts";

/** How a run of composed steps ended: the exit status and the command it would have exec'd. */
export interface BootResult {
  status: number;
  /** The command line handed to exec, or undefined when the run stopped before it. */
  exec?: readonly string[];
}

/**
 * Runs `steps` against `host` as `main` does in a real run (error line, exit status), with an
 * exec that only records its command line.
 */
export async function boot(
  host: Host,
  steps: readonly Step[],
  argv: readonly string[] = ["/sbin/init"],
): Promise<BootResult> {
  let exec: readonly string[] | undefined;
  try {
    await run(host, argv, (command) => {
      exec = command;
      return Promise.resolve(undefined as never);
    }, { steps });
    return { status: 0, exec };
  } catch (error) {
    return { status: reportFailure(host, error) };
  }
}

/** The plan `KIND_ENTRYPOINT_DRY_RUN=1` prints for `steps` over `host`, and its exit status. */
export function dryRun(
  host: Queries,
  steps: readonly Step[],
  argv: readonly string[] = ["/sbin/init"],
): Promise<{ status: number; plan: string }> {
  return runDryRun(host, argv, { steps });
}
