/**
 * Composing the list of steps a custom entrypoint runs: kind's steps with others put exactly
 * where they belong. Every function returns a new list and leaves its input alone, so
 * `KIND_STEPS` stays kind's order for everyone who imports it.
 */

/** What composing needs to know of a step: its name. */
export interface Named {
  readonly name: string;
}

/**
 * A step name: it is typed in `KIND_ENTRYPOINT_STEPS` (split on commas and spaces) and printed in
 * `ERROR:` lines, so lower-case letters, digits and underscores, starting with a letter.
 */
const STEP_NAME = /^[a-z][a-z0-9_]*$/;

/** Throws unless every step has a valid name and no two share one. */
export function checkSteps(steps: readonly Named[]): void {
  const seen = new Set<string>();
  for (const step of steps) {
    if (typeof step?.name !== "string" || !STEP_NAME.test(step.name)) {
      throw new Error(
        `Step name ${JSON.stringify(step?.name)} is not lower-case letters, digits and ` +
          "underscores starting with a letter",
      );
    }
    if (seen.has(step.name)) throw new Error(`Two steps are named ${step.name}`);
    seen.add(step.name);
  }
}

/** `added` inserted right before the step named `anchor`. */
export function insertBefore<S extends Named>(
  steps: readonly S[],
  anchor: string,
  ...added: S[]
): S[] {
  const at = indexOf(steps, anchor);
  return checked([...steps.slice(0, at), ...added, ...steps.slice(at)]);
}

/** `added` inserted right after the step named `anchor`. */
export function insertAfter<S extends Named>(
  steps: readonly S[],
  anchor: string,
  ...added: S[]
): S[] {
  const at = indexOf(steps, anchor) + 1;
  return checked([...steps.slice(0, at), ...added, ...steps.slice(at)]);
}

/** The step named `name` replaced by `replacement` (which may keep the name or take another). */
export function replaceStep<S extends Named>(
  steps: readonly S[],
  name: string,
  replacement: S,
): S[] {
  const at = indexOf(steps, name);
  return checked([...steps.slice(0, at), replacement, ...steps.slice(at + 1)]);
}

function indexOf(steps: readonly Named[], name: string): number {
  const at = steps.findIndex((step) => step.name === name);
  if (at < 0) {
    throw new Error(
      `No step is named ${JSON.stringify(name)} (steps: ${steps.map((s) => s.name).join(", ")})`,
    );
  }
  return at;
}

function checked<S extends Named>(steps: S[]): S[] {
  checkSteps(steps);
  return steps;
}
