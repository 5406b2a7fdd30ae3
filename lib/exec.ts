/** Replacing this process with the init command, so that it keeps our PID (1 in a container). */
import { EntrypointError } from "./errors.ts";

/** execve(2) of `argv` resolved through PATH, with our environment. */
export function execCommand(argv: readonly string[]): Promise<never> {
  return Promise.reject(
    new EntrypointError(`Cannot exec ${argv[0]}: this runtime cannot replace the process yet`),
  );
}
