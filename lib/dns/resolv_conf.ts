/**
 * resolv.conf, read and written in one place: what a file says (its nameservers and search list,
 * as glibc reads them), and the node's /etc/resolv.conf, pointed at the Docker host IP instead
 * of 127.0.0.11 so that pods (which copy it) can reach Docker's DNS, with `KIND_DNS_SEARCH`
 * applied and, on nodes of clusters with IPv6, the DNS relay's nameserver line added.
 */
import { DOCKER_EMBEDDED_DNS_IP } from "./docker_dns.ts";
import { isAddress } from "../ip.ts";
import { escapeRegExp } from "../text.ts";

/** What a resolv.conf says. */
export interface ResolvConf {
  /** The `nameserver` addresses in order, as written (an IPv6 zone suffix such as `%eth0` kept). */
  nameservers: string[];
  /** The search list: the last `search` or `domain` line wins, as in glibc. */
  search: string[];
}

/** Reads a resolv.conf's nameservers and search list; comments and other lines are ignored. */
export function parseResolvConf(text: string): ResolvConf {
  const nameservers = [...text.matchAll(/^[ \t]*nameserver[ \t]+(\S+)/gm)].map((match) => match[1]);
  let search: string[] = [];
  for (const match of text.matchAll(/^[ \t]*(search|domain)[ \t]+(.*)$/gm)) {
    search = match[2].trim().split(/\s+/).filter(Boolean);
  }
  return { nameservers, search };
}

/** An address without its zone suffix: `fe80::1%eth0` is `fe80::1`. */
export function withoutZone(address: string): string {
  return address.replace(/%.*$/, "");
}

/** Whether `resolvConf` names `address` as a nameserver (zone suffix ignored, any letter case). */
export function namesNameserver(resolvConf: string, address: string): boolean {
  return parseResolvConf(resolvConf).nameservers.map(withoutZone).some((server) =>
    server.toLowerCase() === address.toLowerCase()
  );
}

/** The DNS relay's nameserver line to add (lib/dns/relay/node.ts decides the addresses). */
export interface RelayNameserver {
  /** The relay's address: the node's own IPv6 address. */
  address: string;
  /** The relay's address at an earlier boot, whose line is dropped. */
  old?: string;
}

/** Inputs of `renderResolvConf`. */
export interface ResolvConfInput {
  /** Docker's file, as saved in /etc/resolv.conf.original. */
  original: string;
  hostIp: string;
  /** `KIND_DNS_SEARCH`: undefined keeps search lines, "" drops them, otherwise replaces them. */
  dnsSearch: string | undefined;
  /** The DNS relay's nameserver, added as `addRelayNameserver` says; none when absent. */
  relay?: RelayNameserver;
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
  const result = renderForHostIp(input);
  const { relay } = input;
  return relay && result.ok
    ? { ...result, content: addRelayNameserver(result.content, relay.address, relay.old) }
    : result;
}

/** `renderResolvConf` before the relay's line: the host IP and `KIND_DNS_SEARCH` applied. */
function renderForHostIp(input: ResolvConfInput): ResolvConfResult {
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

/**
 * The node's resolv.conf with the relay added: `nameserver RELAY` right after the first IPv4
 * nameserver. The node itself keeps asking that one first (no extra hop, and no dependence on
 * the relay running); a resolver without IPv4 fails on it at once (`network unreachable`) and
 * moves on to the relay. Right after the first, the relay stays within the three nameservers
 * glibc reads. Unchanged when the file already has an IPv6 nameserver other than a relay's (a
 * runtime such as podman's aardvark-dns answering on the IPv6 gateway: pods reach it already) or
 * no IPv4 nameserver to relay to. A line for `old` (the relay's address at an earlier boot) is
 * dropped.
 */
export function addRelayNameserver(
  resolvConf: string,
  relay: string,
  old?: string,
): string {
  const lines = resolvConf.split("\n");
  const isServerLine = (line: string, address: string) =>
    serverOf(line)?.toLowerCase() === address.toLowerCase();
  const kept = old && old !== relay ? lines.filter((line) => !isServerLine(line, old)) : lines;
  const servers = parseResolvConf(kept.join("\n")).nameservers.map(withoutZone);
  if (servers.some((server) => isAddress(server, 6))) {
    return namesNameserver(kept.join("\n"), relay) ? kept.join("\n") : resolvConf;
  }
  const first = kept.findIndex((line) => {
    const server = serverOf(line);
    return server !== undefined && isAddress(server, 4);
  });
  if (first < 0) return kept.join("\n");
  return [...kept.slice(0, first + 1), `nameserver ${relay}`, ...kept.slice(first + 1)].join("\n");
}

/** The address of a `nameserver` line, without its zone; undefined for any other line. */
function serverOf(line: string): string | undefined {
  const [server] = parseResolvConf(line).nameservers;
  return server === undefined ? undefined : withoutZone(server);
}
