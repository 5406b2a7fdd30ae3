/**
 * kind-entrypoint-ts: the program every kind node runs as PID 1 before systemd.
 * Usage: entrypoint /sbin/init [ARGS...]
 */
import process from "node:process";
import { execCommand } from "./lib/exec.ts";
import { createHost } from "./lib/host.ts";
import { reportFailure, runEntrypoint } from "./lib/main.ts";

// deno-lint-ignore no-explicit-any
(process as any).noDeprecation = true;

const host = createHost();
let status = 0;
try {
  await runEntrypoint(host, process.argv.slice(2), execCommand);
} catch (error) {
  status = reportFailure(host, error);
}
// Exit now: a lookup that timed out may still hold a resolver thread.
process.exit(status);
