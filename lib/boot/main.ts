/**
 * The whole life of the entrypoint process around a list of steps: stop signals deferred, the
 * switches checked, the dry run or the real run, the one `ERROR:` line and kind's exit status,
 * the exec of init. entrypoint.ts is this with kind's steps; a custom entrypoint (mod.ts) is this
 * with its own.
 */
import { STANDARD_STREAMS } from "../host/command.ts";
import { loadStartProbe } from "../dns/probe.ts";
import { runDryRun } from "./dry_run.ts";
import { EXIT_CANNOT_EXECUTE } from "../exit_status.ts";
import { execCommand, execUnsupportedReason } from "../host/exec.ts";
import { createHost, createQueries, type HostOptions } from "../host/real.ts";
import { releaseCacheMount } from "./launcher.ts";
import { type BootOptions, reportFailure, run } from "./run.ts";
import { deferStopSignals, stopRequested } from "./signals.ts";
import type { KindStep } from "./steps.ts";
import { readSwitches } from "./switches.ts";

/**
 * Runs `steps` in order and execs the command line (the process's arguments, e.g. `/sbin/init`).
 * It returns only by exiting: 0 after a dry run or with no command, else the failing step's status.
 */
export async function main(steps: readonly KindStep[]): Promise<never> {
  // For the trace: what follows counts as setup, what came before as import.
  const entered = performance.now();
  if (typeof (globalThis as { Deno?: unknown }).Deno !== "object") refuseRuntime();
  const env = Deno.env.toObject();
  // SIGTERM/SIGINT stop the run between steps (lib/boot/signals.ts), never in the middle of a write.
  deferStopSignals();
  let status = 0;
  let queries = createQueries();
  try {
    // Every KIND_ENTRYPOINT_* variable is checked before anything else happens.
    const switches = readSwitches(env, steps);
    if (!switches.KIND_ENTRYPOINT_DRY_RUN) {
      // Next, before any step reads the mount table: the launcher's read-only cache mount goes.
      // A dry run changes nothing, this mount included (the launcher makes none for one).
      const released = releaseCacheMount(switches.KIND_ENTRYPOINT_CACHE_MOUNT);
      if (released) write(2, `WARN: ${released}\n`);
    }
    const hostOptions: HostOptions = {
      commandTimeoutMs: switches.KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS,
    };
    queries = createQueries(hostOptions);
    const options: BootOptions = { steps };
    if (switches.KIND_ENTRYPOINT_TRACE) {
      // Loaded only when asked for: the trace is no part of a normal boot.
      const { startTrace } = await import("./trace.ts");
      options.observer = startTrace(queries, { mainEnteredAt: entered });
    }
    const argv = Deno.args;
    const host = () => createHost(hostOptions);
    if (switches.KIND_ENTRYPOINT_DIAGNOSE) {
      // A DNS report for a running node instead of a boot (lib/dns/diagnose/diagnose.ts). Loaded only when
      // asked for: the build makes it a bundle of its own beside the boot's (scripts/build.mjs).
      const { runDiagnose } = await import("../dns/diagnose/diagnose.ts");
      status = await runDiagnose(host(), {
        format: switches.KIND_ENTRYPOINT_DIAGNOSE,
        id: Deno.pid,
        stopRequested,
        write: (text) => write(1, text),
      });
    } else if (switches.KIND_ENTRYPOINT_DRY_RUN) {
      // Only the queries: the dry run has no way to change the node.
      const result = await runDryRun(queries, argv, options);
      write(1, result.plan);
      status = result.status;
    } else {
      // Only a real run sends the DNS check's probe (the dry run drops it as well).
      await run(host(), argv, execCommand, { ...options, loadProbe: loadStartProbe });
    }
  } catch (error) {
    status = reportFailure(queries, error);
  }
  // Exit now: a lookup that timed out may still hold a resolver thread.
  Deno.exit(status);
}

function write(fd: 1 | 2, text: string): void {
  const bytes = new TextEncoder().encode(text);
  if (fd === 1) STANDARD_STREAMS.stdout(bytes);
  else STANDARD_STREAMS.stderr(bytes);
}

/**
 * Outside Deno (Node.js running the bundle) nothing can exec init: one `ERROR:` line and bash's
 * 126, before anything else, through the only process API such a runtime surely has.
 */
function refuseRuntime(): never {
  const node = (globalThis as {
    process?: { stderr: { write(text: string): void }; exit(status: number): never };
  }).process;
  const message = `ERROR: ${execUnsupportedReason()}\n`;
  if (!node) throw new Error(message);
  node.stderr.write(message);
  return node.exit(EXIT_CANNOT_EXECUTE);
}
