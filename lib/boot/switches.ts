/**
 * The entrypoint's own switches: every `KIND_ENTRYPOINT_*` variable it knows, in one table, read
 * and checked before any step. A value a switch does not accept, or a `KIND_ENTRYPOINT_*` name
 * the table does not have, stops the entrypoint with one `ERROR:` line before it has changed
 * anything: a switch whose purpose is "change nothing" must not fall back to a real run because
 * of `=on` or a misspelt `KIND_ENTRYPOINT_DRYRUN=1`. Set to empty is the same as unset.
 */
import { EntrypointError } from "../errors.ts";
import type { Environment } from "../host/host.ts";
import type { Step } from "../steps/step.ts";

/** One switch: what it accepts (for error messages and the README) and how its value is read. */
export interface Switch<T> {
  accepts: string;
  /**
   * The value, or an `Error` saying what is wrong with it. Never called for unset or empty.
   * `steps` are the steps of this entrypoint (kind's, or a custom entrypoint's).
   */
  parse(value: string, steps: readonly Step[]): T;
}

/** A switch that is on with `1`: nothing else is guessed at (`true`, `on`, `0`, `false`, ...). */
const ON: Switch<true> = {
  accepts: "1, or unset",
  parse(value) {
    if (value !== "1") throw new Error("only 1 turns it on");
    return true;
  },
};

/** Every `KIND_ENTRYPOINT_*` variable, one row each. Add a row to add a switch. */
export const SWITCHES = {
  /** Plan instead of change (lib/boot/dry_run.ts). */
  KIND_ENTRYPOINT_DRY_RUN: ON,
  /** Per-step times on stderr (lib/boot/trace.ts). */
  KIND_ENTRYPOINT_TRACE: ON,
  /** Run only these steps (`selectSteps` below). */
  KIND_ENTRYPOINT_STEPS: {
    accepts: "step names separated by commas or spaces, or none",
    // Undefined (every step) for a value of only spaces.
    parse: (value, steps) => selectSteps(value, steps),
  } satisfies Switch<Set<string> | undefined>,
  /** Replaces every command's time bound (lib/host/real.ts). */
  KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS: {
    accepts: "a whole number of milliseconds between 1 and 999999999",
    parse(value) {
      if (!/^[1-9][0-9]{0,8}$/.test(value)) throw new Error("not a whole number in that range");
      return Number(value);
    },
  } satisfies Switch<number>,
  /** A DNS report for a running node instead of a boot (lib/dns/diagnose/diagnose.ts). */
  KIND_ENTRYPOINT_DIAGNOSE: {
    accepts: "1 (a text report) or json",
    parse(value) {
      if (value === "1") return "text" as const;
      if (value === "json") return "json" as const;
      throw new Error("only 1 or json");
    },
  } satisfies Switch<"text" | "json">,
  /** Set by the image's launcher: the variables it set for Deno, kept out of init's environment. */
  KIND_ENTRYPOINT_LAUNCHER_ENV: {
    accepts: "variable names separated by spaces",
    parse: (value) => value.split(/\s+/).filter(Boolean),
  } satisfies Switch<string[]>,
  /**
   * Set by the image's launcher: the directory of Deno's cache it mounted read-only, which the
   * entrypoint detaches before anything else (lib/boot/launcher.ts).
   */
  KIND_ENTRYPOINT_CACHE_MOUNT: {
    accepts: "an absolute path",
    parse(value) {
      if (!value.startsWith("/")) throw new Error("not an absolute path");
      return value;
    },
  } satisfies Switch<string>,
} as const;

/** A known switch's name. */
export type SwitchName = keyof typeof SWITCHES;

/** The switches as read: undefined where unset or empty. */
export type Switches = { [K in SwitchName]?: ReturnType<(typeof SWITCHES)[K]["parse"]> };

const PREFIX = "KIND_ENTRYPOINT_";

/** One switch's value from `env`; throws the `EntrypointError` for a value it does not accept. */
export function readSwitch<K extends SwitchName>(
  env: Environment,
  name: K,
  steps: readonly Step[],
): Switches[K] | undefined {
  const value = env.env(name);
  if (value === undefined || value === "") return undefined;
  const row: Switch<unknown> = SWITCHES[name];
  try {
    return row.parse(value, steps) as Switches[K];
  } catch (error) {
    throw new EntrypointError(
      `${name}=${JSON.stringify(value)} is not understood (${
        (error as Error).message
      }; accepted: ${row.accepts}); nothing was changed`,
    );
  }
}

/**
 * Every switch from the process environment. Throws the `EntrypointError` for the first
 * `KIND_ENTRYPOINT_*` name (in sorted order) that is not in `SWITCHES`, a value that its row
 * does not accept, or a pair of switches that cannot be combined.
 */
export function readSwitches(
  env: Record<string, string | undefined>,
  steps: readonly Step[],
): Switches {
  const known = Object.keys(SWITCHES);
  const unknown = Object.keys(env).filter((name) =>
    name.startsWith(PREFIX) && !known.includes(name)
  ).sort();
  if (unknown.length > 0) {
    const [name] = unknown;
    const near = known.filter((candidate) => editDistance(name, candidate) <= 3);
    const hint = near.length === 1 ? `did you mean ${near[0]}?` : `known: ${known.join(", ")}`;
    throw new EntrypointError(
      `${name} is not a variable of this entrypoint (${hint}); nothing was changed`,
    );
  }
  const environment: Environment = { env: (name) => env[name] };
  const switches: Switches = {};
  for (const name of known as SwitchName[]) {
    const value = readSwitch(environment, name, steps);
    if (value !== undefined) (switches as Record<string, unknown>)[name] = value;
  }
  if (switches.KIND_ENTRYPOINT_DIAGNOSE && switches.KIND_ENTRYPOINT_DRY_RUN) {
    throw new EntrypointError(
      "KIND_ENTRYPOINT_DIAGNOSE and KIND_ENTRYPOINT_DRY_RUN cannot be combined: the diagnosis makes a network namespace and a veth pair for its pod probe (and removes them), which a dry run must not; nothing was changed",
    );
  }
  return switches;
}

/** Levenshtein distance: how many single-character edits turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        previous[j] + 1,
        row[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length];
}

/** The `KIND_ENTRYPOINT_STEPS` value that runs no step at all (only detection and exec). */
export const NO_STEPS = "none";

/**
 * Step names from `KIND_ENTRYPOINT_STEPS` (comma or space separated); undefined means all, and
 * `none` alone selects no step, for running only the exec (tests of the exec itself).
 */
export function selectSteps(
  value: string | undefined,
  steps: readonly Step[],
): Set<string> | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const names = new Set(value.split(/[\s,]+/).filter(Boolean));
  if (names.has(NO_STEPS)) {
    if (names.size > 1) {
      throw new Error(`KIND_ENTRYPOINT_STEPS=${NO_STEPS} cannot be combined with step names`);
    }
    return new Set();
  }
  const known = new Set(steps.map((step) => step.name));
  const unknown = [...names].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new Error(
      `KIND_ENTRYPOINT_STEPS names unknown steps: ${unknown.join(", ")} (known: ${
        [...known].join(", ")
      }, or ${NO_STEPS})`,
    );
  }
  return names;
}
