/**
 * kind-entrypoint-ts: the program every kind node runs as PID 1 before systemd.
 * Usage: entrypoint /sbin/init [ARGS...]
 * KIND_ENTRYPOINT_DRY_RUN=1 prints what it would change instead of changing it.
 */
import { writeSync } from "node:fs";
import process from "node:process";
import { runDryRun } from "./lib/dry_run.ts";
import { execCommand } from "./lib/exec.ts";
import { createChanges, createQueries } from "./lib/host.ts";
import { reportFailure, runEntrypoint, type RunOptions } from "./lib/main.ts";
import { deferStopSignals } from "./lib/signals.ts";
import { readSwitches } from "./lib/switches.ts";

// deno-lint-ignore no-explicit-any
(process as any).noDeprecation = true;

// SIGTERM/SIGINT stop the run between steps (lib/signals.ts), never in the middle of a write.
deferStopSignals();
let status = 0;
let queries = createQueries();
try {
  // Every KIND_ENTRYPOINT_* variable is checked before anything else happens.
  const switches = readSwitches(process.env);
  queries = createQueries({ commandTimeoutMs: switches.KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS });
  const options: RunOptions = {};
  if (switches.KIND_ENTRYPOINT_TRACE) {
    // Loaded only when asked for: the trace is no part of a normal boot.
    const { startTrace } = await import("./lib/trace.ts");
    options.observer = startTrace(queries);
  }
  const argv = process.argv.slice(2);
  if (switches.KIND_ENTRYPOINT_DRY_RUN) {
    // Only the queries: the dry run has no way to change the node.
    const result = await runDryRun(queries, argv, options);
    writeSync(1, result.plan);
    status = result.status;
  } else {
    const changes = createChanges({
      commandTimeoutMs: switches.KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS,
    });
    await runEntrypoint({ ...queries, ...changes }, argv, execCommand, options);
  }
} catch (error) {
  status = reportFailure(queries, error);
}
// Exit now: a lookup that timed out may still hold a resolver thread.
process.exit(status);
