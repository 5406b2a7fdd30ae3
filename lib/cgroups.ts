/**
 * Placeholder for kind's `fix_cgroup` until its port lands: it only reports the cgroup version,
 * with the lines the kind CLI waits for.
 */
import type { Host } from "./host.ts";
import type { StepContext } from "./steps.ts";

/** kind's `fix_cgroup` (placeholder: detection lines only). */
export function fixCgroup(host: Host, _context: StepContext): Promise<void> {
  if (host.kind("/sys/fs/cgroup/cgroup.controllers") === "file") {
    host.log("INFO", "detected cgroup v2");
  } else {
    host.log("INFO", "detected cgroup v1");
  }
  return Promise.resolve();
}
