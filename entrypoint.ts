/**
 * kind-entrypoint-ts: the program every kind node runs as PID 1 before systemd.
 * Usage: entrypoint /sbin/init [ARGS...]
 * KIND_ENTRYPOINT_DRY_RUN=1 prints what it would change instead of changing it.
 */
import { writeSync } from "node:fs";
import process from "node:process";
import { isDryRun, runDryRun } from "./lib/dry_run.ts";
import { execCommand } from "./lib/exec.ts";
import { createHost } from "./lib/host.ts";
import { reportFailure, runEntrypoint } from "./lib/main.ts";
import { deferStopSignals } from "./lib/signals.ts";

// deno-lint-ignore no-explicit-any
(process as any).noDeprecation = true;

// SIGTERM/SIGINT stop the run between steps (lib/signals.ts), never in the middle of a write.
deferStopSignals();
const host = createHost();
const argv = process.argv.slice(2);
let status = 0;
if (isDryRun(host.env("KIND_ENTRYPOINT_DRY_RUN"))) {
  const result = await runDryRun(host, argv);
  writeSync(1, result.plan);
  status = result.status;
} else {
  try {
    await runEntrypoint(host, argv, execCommand);
  } catch (error) {
    status = reportFailure(host, error);
  }
}
// Exit now: a lookup that timed out may still hold a resolver thread.
process.exit(status);
