/**
 * The network magic for Docker's nftables firewall backend (dockerd's
 * `--firewall-backend=nftables`, or `DOCKER_FIREWALL_BACKEND=nftables` in its environment).
 *
 * There Docker puts the embedded-DNS NAT into a native table that `iptables-save` cannot see:
 *
 *     table ip docker-dns {
 *       chain dns-dnat {   type nat hook output priority -100
 *         ip daddr 127.0.0.11 udp dport 53 counter dnat to 127.0.0.11:UDP_PORT   (then tcp) }
 *       chain dns-snat {   type nat hook postrouting priority srcnat (100)
 *         ip saddr 127.0.0.11 udp sport UDP_PORT counter snat to :53             (then tcp) }
 *     }
 *
 * The rewrite mirrors the one of `nat_rules.ts`, inside this table only: DNAT matches move from
 * 127.0.0.11 to the Docker host IP, the DNAT rules are also hooked into prerouting (a new base
 * chain `dns-dnat-prerouting`, where the iptables rewrite adds a PREROUTING jump), the SNAT gets
 * the host IP as source, and a DNAT rule to 127.0.0.11 that lost its port match gets `dport 53`.
 *
 * The table is read with `nft list table` (its text is what the dry run diffs against) and
 * replaced with one atomic `nft -f -` script: `flush table` and the whole table again. Rules
 * keep their counters; a second run finds nothing to change.
 */
import { DOCKER_EMBEDDED_DNS_IP } from "./docker_dns.ts";
import { EntrypointError } from "../errors.ts";
import { commandFailure, type Commands, type Log } from "../host/host.ts";
import { clip, escapeRegExp } from "../text.ts";

/** Docker's table for the embedded-DNS NAT. */
export const DOCKER_DNS_FAMILY = "ip";
export const DOCKER_DNS_TABLE = "docker-dns";
/** Docker's DNAT chain (hook output). */
export const DOCKER_DNS_DNAT_CHAIN = "dns-dnat";
/** The chain this rewrite adds so that traffic from pods (hook prerouting) is DNATed too. */
export const PREROUTING_CHAIN = "dns-dnat-prerouting";
const PREROUTING_SPEC = "type nat hook prerouting priority -100; policy accept;";

/** One chain of an `nft list table` listing; lines without their indentation. */
export interface NftChain {
  name: string;
  /** Lines that describe the chain rather than match packets: `type ... hook ...`, `comment`. */
  spec: string[];
  rules: string[];
}

/** An `nft list table` listing. */
export interface NftTable {
  family: string;
  name: string;
  /** Table-level lines other than chains (`flags ...`, `comment ...`), kept verbatim. */
  attributes: string[];
  chains: NftChain[];
}

const TABLE_OPEN = /^table (\S+) (\S+) \{$/;
const CHAIN_OPEN = /^chain (\S+) \{$/;
const SPEC_LINE = /^(type \S+ hook \S+.*;|comment ".*")$/;
const OTHER_BLOCK = /^(set|map|flowtable|counter|quota|limit|ct \S+|secmark|synproxy) (\S+) \{$/;

/**
 * Parses the text of `nft list table FAMILY NAME` (nft's own listing format). Throws an error
 * naming the first line it does not understand; sets, maps and other objects are refused, since
 * the rewrite would have to re-create them.
 */
export function parseNftTable(text: string): NftTable {
  let table: NftTable | undefined;
  let chain: NftChain | undefined;
  let closed = false;
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    const where = `line ${index + 1}`;
    if (line === "") return;
    if (closed) throw new Error(`${where} follows the end of the table: ${clip(line)}`);
    if (!table) {
      const open = TABLE_OPEN.exec(line);
      if (!open) throw new Error(`${where} does not open a table: ${clip(line)}`);
      table = { family: open[1], name: open[2], attributes: [], chains: [] };
      return;
    }
    if (line === "}") {
      if (chain) chain = undefined;
      else closed = true;
      return;
    }
    if (chain) {
      if (chain.rules.length === 0 && SPEC_LINE.test(line)) chain.spec.push(line);
      else chain.rules.push(line);
      return;
    }
    const open = CHAIN_OPEN.exec(line);
    if (open) {
      chain = { name: open[1], spec: [], rules: [] };
      table.chains.push(chain);
      return;
    }
    const other = OTHER_BLOCK.exec(line);
    if (other) throw new Error(`${where} declares a ${other[1]}, which is not supported`);
    table.attributes.push(line);
  });
  if (!table) throw new Error("there is no table");
  if (!closed) throw new Error(`table ${table.family} ${table.name} is not closed`);
  return table;
}

/** Renders a table in nft's listing format, which `nft -f` reads back. */
export function renderNftTable(table: NftTable): string {
  const out = [`table ${table.family} ${table.name} {`];
  for (const attribute of table.attributes) out.push(`\t${attribute}`);
  table.chains.forEach((chain, index) => {
    if (index > 0 || table.attributes.length > 0) out.push("");
    out.push(`\tchain ${chain.name} {`);
    for (const line of [...chain.spec, ...chain.rules]) out.push(`\t\t${line}`);
    out.push("\t}");
  });
  out.push("}");
  return out.join("\n") + "\n";
}

/** Replaces `find` where it is a whole token: preceded and followed by a space or the line end. */
function replaceToken(rule: string, find: string, replacement: string): string {
  if (!rule.includes(find)) return rule;
  const pattern = new RegExp(`(?<=^| )${escapeRegExp(find)}(?= |$)`, "g");
  return rule.replace(pattern, () => replacement);
}

const COUNTER_VALUES = / counter packets \d+ bytes \d+(?= |$)/g;

/** A rule without its counter values: what it matches and does. */
function withoutCounterValues(rule: string): string {
  return rule.replace(COUNTER_VALUES, " counter");
}

/** The four substitutions of the iptables rewrite, on one rule of the table. */
export function rewriteNftRule(rule: string, hostIp: string): string {
  const dns = DOCKER_EMBEDDED_DNS_IP;
  let text = replaceToken(rule, `ip daddr ${dns}`, `ip daddr ${hostIp}`);
  text = replaceToken(text, "snat to :53", `snat to ${hostIp}:53`);
  // A DNAT to the DNS server that matches the protocol but not the port would send all of the
  // host's TCP or UDP to it (kind #3054); match port 53 instead.
  if (new RegExp(`(?:^| )dnat to ${escapeRegExp(dns)}:`).test(text) && !/ dport /.test(text)) {
    text = text.replace(
      /(?<=^| )(?:meta l4proto|ip protocol) (tcp|udp)(?= |$)/,
      (_, proto) => `${proto} dport 53`,
    );
  }
  return text;
}

/**
 * The table after the rewrite (see the module comment). The prerouting chain holds the DNAT
 * rules of Docker's output chain; rules it already holds keep their counters, new ones start at 0.
 */
export function rewriteDockerDnsTable(table: NftTable, hostIp: string): NftTable {
  const chains = table.chains.map((chain) => ({
    ...chain,
    rules: chain.rules.map((rule) => rewriteNftRule(rule, hostIp)),
  }));
  const dnat = chains.find((chain) => chain.name === DOCKER_DNS_DNAT_CHAIN);
  if (!dnat || dnat.rules.length === 0) return { ...table, chains };
  const existing = chains.find((chain) => chain.name === PREROUTING_CHAIN);
  const kept = new Map(existing?.rules.map((rule) => [withoutCounterValues(rule), rule]));
  const rules = dnat.rules.map((rule) => {
    const bare = withoutCounterValues(rule);
    return kept.get(bare) ?? bare;
  });
  if (existing) existing.rules = rules;
  else chains.push({ name: PREROUTING_CHAIN, spec: [PREROUTING_SPEC], rules });
  return { ...table, chains };
}

const PRIORITY_NAMES: Record<string, string> = {
  raw: "-300",
  mangle: "-150",
  dstnat: "-100",
  filter: "0",
  security: "50",
  srcnat: "100",
};

/** What a table does, for comparison: no counter values, base chain priorities as numbers. */
function normalizeTable(table: NftTable): string {
  return renderNftTable({
    ...table,
    chains: table.chains.map((chain) => ({
      ...chain,
      spec: chain.spec.map((line) =>
        line.replace(/ priority (\w+);/, (all, name) => {
          const number = PRIORITY_NAMES[name];
          return number === undefined ? all : ` priority ${number};`;
        })
      ),
      rules: chain.rules.map(withoutCounterValues),
    })),
  });
}

/**
 * The `nft -f` script that rewrites the listed `ip docker-dns` table for `hostIp`, or undefined
 * when the table already is what the rewrite would make of it. Throws when the listing cannot be
 * parsed or is not of that table.
 */
export function nftDockerDnsScript(listing: string, hostIp: string): string | undefined {
  const table = parseNftTable(listing);
  if (table.family !== DOCKER_DNS_FAMILY || table.name !== DOCKER_DNS_TABLE) {
    throw new Error(`the listing is of table ${table.family} ${table.name}`);
  }
  const rewritten = rewriteDockerDnsTable(table, hostIp);
  if (normalizeTable(rewritten) === normalizeTable(table)) return undefined;
  // One transaction: the rules go and come back rewritten, or nothing changes.
  return `flush table ${table.family} ${table.name}\n${renderNftTable(rewritten)}`;
}

/** True when nft's stderr says the table does not exist, or nf_tables is not in the kernel. */
export function isMissingTable(stderr: string): boolean {
  return /No such file or directory|Protocol not supported|Address family not supported/.test(
    stderr,
  );
}

/** What `rewriteNftDockerDns` found: the table rewritten, already rewritten, or no table. */
export type NftRewrite = "changed" | "unchanged" | "absent";

/**
 * Rewrites Docker's `ip docker-dns` table for pods, if there is one. Does nothing without the
 * table (Docker's iptables backend); without `nft` in PATH it says so and does nothing.
 */
export async function rewriteNftDockerDns(
  host: Commands & Log,
  hostIp: string,
): Promise<NftRewrite> {
  if (host.which("nft") === undefined) {
    // Called only when no iptables backend holds Docker's chains: the last place to look is
    // out of reach, and resolv.conf is about to point at the host IP all the same.
    host.log(
      "WARN",
      "Docker's DNS rules are in no iptables backend, and nft is not in PATH to look for Docker's nftables table ip docker-dns; pods may not reach Docker's DNS",
    );
    return "absent";
  }
  const list = ["nft", "list", "table", DOCKER_DNS_FAMILY, DOCKER_DNS_TABLE] as const;
  const listed = await host.query(list, { nothrow: true, stderr: "capture" });
  if (listed.status !== 0) {
    if (isMissingTable(listed.stderr)) return "absent";
    throw commandFailure(listed);
  }
  let script: string | undefined;
  try {
    script = nftDockerDnsScript(listed.stdout, hostIp);
  } catch (error) {
    throw new EntrypointError(
      `Cannot parse \`${list.join(" ")}\` output: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (script === undefined) return "unchanged";
  await host.run(["nft", "-f", "-"], { input: script, diffAgainst: listed.stdout });
  return "changed";
}
