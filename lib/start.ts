/**
 * The whole life of the entrypoint process around a list of steps: stop signals deferred, the
 * switches checked, the dry run or the real run, the one `ERROR:` line and kind's exit status,
 * the exec of init. entrypoint.ts is this with kind's steps; a custom entrypoint (mod.ts) is this
 * with its own.
 */
import { writeSync } from "node:fs";
import process from "node:process";
import { loadStartProbe } from "./dns_probe.ts";
import { runDryRun } from "./dry_run.ts";
import { execCommand } from "./exec.ts";
import { createHost, createQueries, type HostOptions } from "./real_host.ts";
import { releaseCacheMount } from "./launcher.ts";
import { reportFailure, runEntrypoint, type RunOptions } from "./main.ts";
import { deferStopSignals, stopRequested } from "./signals.ts";
import type { Step } from "./steps.ts";
import { readSwitches } from "./switches.ts";

/**
 * Runs `steps` in order and execs the command line (the process's arguments, e.g. `/sbin/init`).
 * It returns only by exiting: 0 after a dry run or with no command, else the failing step's status.
 */
export async function main(steps: readonly Step[]): Promise<never> {
  // For the trace: what follows counts as setup, what came before as import.
  const entered = performance.now();
  // deno-lint-ignore no-explicit-any
  (process as any).noDeprecation = true;
  // First, before any step reads the mount table: the launcher's read-only cache mount goes.
  const released = releaseCacheMount(process.env);
  if (released) writeSync(2, `WARN: ${released}\n`);
  // SIGTERM/SIGINT stop the run between steps (lib/signals.ts), never in the middle of a write.
  deferStopSignals();
  let status = 0;
  let queries = createQueries();
  try {
    // Every KIND_ENTRYPOINT_* variable is checked before anything else happens.
    const switches = readSwitches(process.env, steps);
    const hostOptions: HostOptions = {
      commandTimeoutMs: switches.KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS,
    };
    queries = createQueries(hostOptions);
    const options: RunOptions = { steps };
    if (switches.KIND_ENTRYPOINT_TRACE) {
      // Loaded only when asked for: the trace is no part of a normal boot.
      const { startTrace } = await import("./trace.ts");
      options.observer = startTrace(queries, { mainEnteredAt: entered });
    }
    const argv = process.argv.slice(2);
    const host = () => createHost(hostOptions);
    if (switches.KIND_ENTRYPOINT_DIAGNOSE) {
      // A DNS report for a running node instead of a boot (lib/diagnose.ts). Loaded only when
      // asked for: the build makes it a bundle of its own beside the boot's (scripts/build.mjs).
      const { runDiagnose } = await import("./diagnose.ts");
      status = await runDiagnose(host(), {
        format: switches.KIND_ENTRYPOINT_DIAGNOSE,
        id: process.pid,
        stopRequested,
        write: (text) => writeSync(1, text),
      });
    } else if (switches.KIND_ENTRYPOINT_DRY_RUN) {
      // Only the queries: the dry run has no way to change the node.
      const result = await runDryRun(queries, argv, options);
      writeSync(1, result.plan);
      status = result.status;
    } else {
      // Only a real run sends the DNS check's probe (the dry run drops it as well).
      await runEntrypoint(host(), argv, execCommand, { ...options, loadProbe: loadStartProbe });
    }
  } catch (error) {
    status = reportFailure(queries, error);
  }
  // Exit now: a lookup that timed out may still hold a resolver thread.
  process.exit(status);
}
