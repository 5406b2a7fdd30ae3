/**
 * The rewrite of Docker's embedded-DNS NAT rules, as one pure function over `iptables-save` text.
 *
 * Docker DNATs 127.0.0.11:53 to a random port only for traffic from the container itself (the
 * OUTPUT chain). Pods are other network namespaces, and a node's loopback address is not
 * reachable from them, so the rules are moved to the Docker host IP and also hooked into
 * PREROUTING. Four substitutions, applied to every line of every table, as kind's bash does:
 *
 * 1. `-d 127.0.0.11` becomes `-d HOST`.
 * 2. `-A OUTPUT <m> -j DOCKER_OUTPUT` is followed by `-A PREROUTING <m> -j DOCKER_OUTPUT`.
 * 3. `--to-source :53` becomes `--to-source HOST:53` (the SNAT of answers).
 * 4. `p -j DNAT --to-destination 127.0.0.11` gets `--dport 53` (an iptables-save of another
 *    version than the iptables that wrote the rule can drop it, and then all TCP or UDP to the
 *    host would be sent to Docker's DNS: kind #3054).
 *
 * The bash uses sed regular expressions; here the patterns are literal text that must end where
 * the address or port ends, so `127.0.0.110` or `:530` are never half-rewritten.
 */
import { DOCKER_EMBEDDED_DNS_IP } from "./docker_dns.ts";
import { clip, escapeRegExp } from "../text.ts";

/** One table of an `iptables-save` dump. */
export interface SavedTable {
  name: string;
  /** Index (0-based) of the `*table` line and of its `COMMIT` line. */
  start: number;
  end: number;
}

/**
 * Checks that `text` is an `iptables-save` dump and returns its tables. Throws an error naming
 * the first line that is not a comment, table, chain, rule or COMMIT.
 */
export function parseIptablesSave(text: string): SavedTable[] {
  const tables: SavedTable[] = [];
  const lines = text.split("\n");
  let open: SavedTable | undefined;
  lines.forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line === "" || line.startsWith("#")) return;
    if (line.startsWith("*")) {
      if (open) throw new Error(`${where} starts table ${line.slice(1)} before COMMIT`);
      open = { name: line.slice(1), start: index, end: -1 };
      return;
    }
    if (!open) throw new Error(`${where} is outside a table: ${clip(line)}`);
    if (line === "COMMIT") {
      open.end = index;
      tables.push(open);
      open = undefined;
    } else if (!/^(:\S+ \S+( \[\d+:\d+\])?|-[AI] \S+.*|\[\d+:\d+\] -A \S+.*)$/.test(line)) {
      throw new Error(`${where} is not a chain or rule: ${clip(line)}`);
    }
  });
  if (open) throw new Error(`table ${open.name} has no COMMIT line`);
  return tables;
}

/** Replaces every `find` that is not followed by another digit. */
function replaceAtBoundary(line: string, find: string, replacement: string): string {
  if (!line.includes(find)) return line;
  const pattern = new RegExp(escapeRegExp(find) + "(?![0-9])", "g");
  return line.replace(pattern, () => replacement);
}

const OUTPUT_JUMP = /-A OUTPUT (.*) -j DOCKER_OUTPUT/;

/** Options of `rewriteDockerDnsRules`. */
export interface RewriteOptions {
  /**
   * Do not add a PREROUTING jump that the same table already has, so that a second run changes
   * nothing (kind's bash adds a duplicate on every run).
   */
  skipExistingJumps?: boolean;
}

/** Applies the four substitutions to a whole `iptables-save` dump and returns the new dump. */
export function rewriteDockerDnsRules(
  save: string,
  hostIp: string,
  options: RewriteOptions = {},
): string {
  const dns = DOCKER_EMBEDDED_DNS_IP;
  const lines = save.split("\n");
  const existing = new Set<string>();
  if (options.skipExistingJumps) {
    let table = "";
    for (const line of lines) {
      if (line.startsWith("*")) table = line;
      else if (line.startsWith("-A PREROUTING ")) existing.add(`${table}\n${line}`);
    }
  }
  const out: string[] = [];
  let table = "";
  for (const line of lines) {
    if (line.startsWith("*")) table = line;
    let text = replaceAtBoundary(line, `-d ${dns}`, `-d ${hostIp}`);
    const jump = OUTPUT_JUMP.exec(text);
    if (jump) {
      // sed's `\0\n-A PREROUTING \1 -j DOCKER_OUTPUT`: what followed the match moves to the copy.
      const end = jump.index + jump[0].length;
      const copy = `-A PREROUTING ${jump[1]} -j DOCKER_OUTPUT${text.slice(end)}`;
      const duplicate = existing.has(`${table}\n${copy}`);
      text = duplicate ? text : `${text.slice(0, end)}\n${copy}`;
    }
    text = replaceAtBoundary(text, "--to-source :53", `--to-source ${hostIp}:53`);
    text = replaceAtBoundary(
      text,
      `p -j DNAT --to-destination ${dns}`,
      `p --dport 53 -j DNAT --to-destination ${dns}`,
    );
    out.push(text);
  }
  return out.join("\n");
}
