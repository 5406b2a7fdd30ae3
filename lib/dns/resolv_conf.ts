/**
 * The node's /etc/resolv.conf, pointed at the Docker host IP instead of 127.0.0.11 so that pods
 * (which copy it) can reach Docker's DNS, with `KIND_DNS_SEARCH` applied.
 */
import { DOCKER_EMBEDDED_DNS_IP } from "./docker_dns.ts";
import { escapeRegExp } from "../text.ts";

/** Inputs of `renderResolvConf`. */
export interface ResolvConfInput {
  /** Docker's file, as saved in /etc/resolv.conf.original. */
  original: string;
  hostIp: string;
  /** `KIND_DNS_SEARCH`: undefined keeps search lines, "" drops them, otherwise replaces them. */
  dnsSearch: string | undefined;
}

/** The new resolv.conf, or the reason none can be written. */
export type ResolvConfResult =
  | { ok: true; content: string; warnings: string[] }
  | { ok: false; reason: string };

/**
 * Renders the node's resolv.conf, as kind's bash does:
 * - every `127.0.0.11` becomes the host IP;
 * - trailing newlines collapse into one (the bash reads the file through `$(...)` and `echo`);
 * - `KIND_DNS_SEARCH` unset: lines kept; empty: lines starting with `search` dropped; set: those
 *   dropped and `search VALUE` written first.
 * Two deliberate differences: when `KIND_DNS_SEARCH` is set (empty or not), `domain` lines are
 * dropped too, since the resolver lets the last of `domain`/`search` win and a leftover `domain`
 * line would silently override the search list; and line breaks in the value become spaces, so
 * the variable cannot add lines such as `nameserver` to the file.
 * When every line is dropped and nothing replaces them the result is an error (the bash's
 * `grep -v` exits 1 there and leaves an empty file).
 */
export function renderResolvConf(input: ResolvConfInput): ResolvConfResult {
  const warnings: string[] = [];
  const replaced = replaceAddress(input.original, DOCKER_EMBEDDED_DNS_IP, input.hostIp)
    .replace(/\n+$/, "");
  if (input.dnsSearch === undefined) return { ok: true, content: `${replaced}\n`, warnings };

  const kept = replaced.split("\n").filter((line) =>
    !line.startsWith("search") && !/^domain(\s|$)/.test(line)
  );
  const body = kept.map((line) => `${line}\n`).join("");
  if (input.dnsSearch === "") {
    if (body === "") {
      return {
        ok: false,
        reason:
          "every line of it is a search or domain line and KIND_DNS_SEARCH is empty, so the new file would be empty",
      };
    }
    return { ok: true, content: body, warnings };
  }
  let search = input.dnsSearch;
  if (/[\r\n]/.test(search)) {
    search = search.replace(/[\r\n]+/g, " ");
    warnings.push(
      `KIND_DNS_SEARCH contains line breaks; writing them as spaces: ${
        JSON.stringify(`search ${search}`)
      }`,
    );
  }
  return { ok: true, content: `search ${search}\n${body}`, warnings };
}

/** Replaces every whole occurrence of the IPv4 address `from` (not inside a longer number). */
export function replaceAddress(text: string, from: string, to: string): string {
  if (!text.includes(from)) return text;
  return text.replace(new RegExp(`(?<![0-9.])${escapeRegExp(from)}(?![0-9])`, "g"), () => to);
}
