/**
 * Log lines of the entrypoint. Their text is an interface: the kind CLI waits for
 * `detected cgroup v1` in a node's logs, so every line is byte-identical with kind's bash.
 */

/** Severity prefix of a log line. */
export type LogLevel = "INFO" | "WARN" | "ERROR";

/** One log line as it is written to stderr, newline included. */
export function formatLogLine(level: LogLevel, message: string): string {
  return `${level}: ${message}\n`;
}
