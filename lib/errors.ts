/** The one error type the entrypoint reports: a sentence, the step it came from, an exit status. */

/** A failure that stops the boot; `exitCode` is what the process exits with. */
export class EntrypointError extends Error {
  readonly exitCode: number;
  readonly step?: string;
  /** The message is one of kind's own `ERROR:` lines and is printed exactly, never prefixed. */
  readonly verbatim: boolean;

  constructor(
    message: string,
    options: { exitCode?: number; step?: string; verbatim?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "EntrypointError";
    this.exitCode = options.exitCode ?? 1;
    this.step = options.step;
    this.verbatim = options.verbatim ?? false;
  }
}

/** A command that exited non-zero, could not start, or timed out. */
export class CommandError extends EntrypointError {
  readonly argv: readonly string[];
  readonly status: number | null;
  readonly stderr: string;

  constructor(
    argv: readonly string[],
    detail: { status: number | null; stderr: string; reason?: string },
  ) {
    const why = detail.reason ??
      (detail.status === null ? "was killed" : `exited with status ${detail.status}`);
    const err = detail.stderr.trim();
    super(`Command \`${argv.join(" ")}\` ${why}${err ? `: ${lastLines(err, 5)}` : ""}`, {
      // Like bash's errexit, the entrypoint exits with the failing command's status.
      exitCode: detail.status && detail.status > 0 ? detail.status : 1,
    });
    this.name = "CommandError";
    this.argv = argv;
    this.status = detail.status;
    this.stderr = detail.stderr;
  }
}

/** Wraps `error` so that its message starts with the step that failed; keeps its exit status. */
export function inStep(step: string, error: unknown): EntrypointError {
  if (error instanceof EntrypointError && (error.step || error.verbatim)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const exitCode = error instanceof EntrypointError ? error.exitCode : 1;
  return new EntrypointError(`${step}: ${message}`, { exitCode, step, cause: error });
}

function lastLines(text: string, n: number): string {
  const lines = text.split("\n");
  return lines.slice(-n).join(" | ");
}
