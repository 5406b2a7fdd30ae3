/**
 * Rootless nodes: kind detects a non-initial user namespace before any step runs (several steps
 * behave differently there) and then checks that the namespace can host Kubernetes.
 */
import { EntrypointError } from "../errors.ts";
import type { FileQueries, Log } from "../host/host.ts";
import { containsWord, isUserNamespace, type Limit, parseNofileHardLimit } from "../host/proc.ts";

export const UID_MAP = "/proc/self/uid_map";
export const LIMITS = "/proc/self/limits";
export const CGROUP_CONTROLLERS = "/sys/fs/cgroup/cgroup.controllers";

/** kubelet and containerd need this many open files; less is only worth a warning. */
export const NOFILE_HARD_EXPECTED = 64000;

/** The cgroup v2 controllers that must be delegated to a rootless node, in the order checked. */
export const REQUIRED_CONTROLLERS = ["cpu", "memory", "pids"] as const;

/**
 * Reads /proc/self/uid_map and logs kind's first line when in a user namespace. An unreadable
 * map counts as the initial namespace, as kind's grep (exit status 2) does.
 */
export function detectUserns(host: FileQueries & Log): boolean {
  let uidMap: string;
  try {
    uidMap = host.readText(UID_MAP);
  } catch {
    return false;
  }
  const userns = isUserNamespace(uidMap);
  if (userns) host.log("INFO", "running in a user namespace (experimental)");
  return userns;
}

/** The warning for a low open-files hard limit, or undefined when the limit is high enough. */
export function nofileWarning(hard: Limit | undefined): string | undefined {
  // An unknown limit is reported the way kind's bash would print an empty `ulimit -Hn`.
  if (hard === "unlimited") return undefined;
  if (hard !== undefined && hard >= NOFILE_HARD_EXPECTED) return undefined;
  return `UserNS: expected RLIMIT_NOFILE to be at least ${NOFILE_HARD_EXPECTED}, got ${hard ?? ""}`;
}

/** The first required controller missing from cgroup.controllers text, if any. */
export function missingController(controllers: string): string | undefined {
  return REQUIRED_CONTROLLERS.find((name) => !containsWord(controllers, name));
}

/** kind's `validate_userns`: in a user namespace, warn on few open files, require controllers. */
export function validateUserns(
  host: FileQueries & Log,
  context: { userns: boolean },
): void {
  if (!context.userns) return;
  let limits = "";
  try {
    limits = host.readText(LIMITS);
  } catch { /* reported as an unknown limit */ }
  const warning = nofileWarning(parseNofileHardLimit(limits));
  if (warning) host.log("WARN", warning);

  if (host.kind(CGROUP_CONTROLLERS) !== "file") return;
  let controllers = "";
  try {
    controllers = host.readText(CGROUP_CONTROLLERS);
  } catch { /* like grep's read error: nothing is delegated */ }
  const missing = missingController(controllers);
  if (missing) {
    throw new EntrypointError(`UserNS: ${missing} controller needs to be delegated`, {
      verbatim: true,
    });
  }
}
