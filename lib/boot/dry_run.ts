/**
 * `KIND_ENTRYPOINT_DRY_RUN=1`: the entrypoint run against the dry-run host (lib/host/dry_run.ts),
 * which plans every change instead of making it, and the plan printed.
 */
import { type BootOptions, type ExecFn, reportFailure, run } from "./run.ts";
import { createDryRun, type Plan, shellWords } from "../host/dry_run.ts";
import type { Queries } from "../host/host.ts";

/** Runs the entrypoint against a dry-run host; returns the exit status and the plan to print. */
export async function runDryRun(
  real: Queries,
  argv: readonly string[],
  options: BootOptions = {},
): Promise<{ status: number; plan: string }> {
  const dryRun = createDryRun(real);
  const planExec: ExecFn = (command) => {
    dryRun.plan.end = `exec ${shellWords(command)}`;
    return Promise.resolve(undefined as never);
  };
  let status = 0;
  try {
    // No DNS probe: the rules it would check were not rewritten (and a probe is no change).
    await run(dryRun.host, argv, planExec, { ...options, loadProbe: undefined });
    dryRun.plan.end ??= "exit 0 (no command to exec)";
  } catch (error) {
    status = reportFailure(real, error);
    dryRun.plan.end = `stop with exit status ${status}`;
  }
  return { status, plan: formatPlan(dryRun.plan) };
}

/** The plan as printed on stdout: a header that counts the changes, the changes, the end. */
export function formatPlan(plan: Plan): string {
  const n = plan.changes.length;
  const count = n === 0 ? "no changes" : n === 1 ? "1 change" : `${n} changes`;
  const then = plan.end ? `, then ${plan.end}` : "";
  const lines = ["# kind-entrypoint-ts dry run (KIND_ENTRYPOINT_DRY_RUN=1): nothing was changed."];
  if (plan.undecided.length > 0) {
    lines.push("# Not decided without a trial that changes the node (a real run makes it):");
    for (const question of plan.undecided) lines.push(`#   ${question}`);
  }
  lines.push(
    n === 0
      ? `# A real run would make no changes${then}.`
      : `# A real run would make ${count}${then}; the ${n === 1 ? "change" : "changes, in order"}:`,
    ...plan.changes,
  );
  if (plan.end) lines.push(plan.end);
  return lines.map((line) => `${line}\n`).join("");
}
