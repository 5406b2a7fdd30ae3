/**
 * The "network magic": make Docker's embedded DNS reachable from pods. See docs/design.md for a
 * diagram. Reads the machine, computes every new text in memory, then applies it.
 */
import { findDockerHostIp } from "./docker_host_ip.ts";
import { EntrypointError } from "../errors.ts";
import type {
  Announcements,
  Commands,
  Environment,
  FileChanges,
  FileQueries,
  Files,
  Log,
  Lookups,
  RunResult,
} from "../host/host.ts";
import { parseIptablesSave, rewriteDockerDnsRules } from "./nat_rules.ts";
import { rewriteNftDockerDns } from "./nft_dns.ts";
import { updateNodeAddresses } from "./node_ip.ts";
import { enableRelay, findRelayAddress, type RelayAddress, relaySettings } from "./relay/node.ts";
import { renderResolvConf } from "./resolv_conf.ts";

export const RESOLV_CONF = "/etc/resolv.conf";
export const RESOLV_CONF_ORIGINAL = "/etc/resolv.conf.original";

type MagicHost = Lookups & Files & Commands & Environment & Log & Announcements;

/**
 * Where Docker's DNS rules were found: the selected iptables backend (`iptables`), the other one,
 * Docker's nftables table, or nowhere (podman, Docker's default bridge, nerdctl).
 */
export type DnsRulesPlace =
  | "iptables"
  | "iptables-nft"
  | "iptables-legacy"
  | "nftables"
  | "nowhere";

/** What the network magic did, for the DNS check that follows it (lib/dns/check.ts). */
export interface NetworkMagic {
  hostIp: string;
  rules: DnsRulesPlace;
  /** resolv.conf as the runtime wrote it (kept as resolv.conf.original) and as now written. */
  resolvConf: { original: string; written: string };
}

/**
 * kind's `enable_network_magic`: NAT rules, resolv.conf, node addresses. `saved`: what
 * `iptables-save` prints, when select_iptables already has it (lib/boot/handoffs.ts);
 * `afterResolvConf`: called once the rules and resolv.conf are written (the DNS check starts).
 */
export async function enableNetworkMagic(
  host: MagicHost,
  options: { saved?: RunResult; afterResolvConf?: (magic: NetworkMagic) => void } = {},
): Promise<NetworkMagic> {
  const { address: hostIp } = await findDockerHostIp(host);
  // Only on nodes of clusters with IPv6 (lib/dns/relay/node.ts); undefined everywhere else.
  const relay = await findRelayAddress(host);
  // resolv.conf is read and rendered before the rules change, so that a file that cannot be
  // read or rewritten stops the step with the rules as they were.
  const resolvConf = planResolvConf(host, hostIp, host.env("KIND_DNS_SEARCH"), { relay });
  const rules = await rewriteNatRules(host, hostIp, options.saved);
  applyResolvConf(host, resolvConf);
  const written = resolvConf.writes[resolvConf.writes.length - 1].data;
  const relayed = relay && relaySettings(written, relay.address);
  if (relayed) await enableRelay(host, relayed);
  const magic = { hostIp, rules, resolvConf: { original: resolvConf.original, written } };
  // The DNS check's queries go out here, and are answered while the node addresses are done.
  options.afterResolvConf?.(magic);
  await updateNodeAddresses(host);
  return magic;
}

/**
 * `iptables-save`, the rewrite in memory, one `iptables-restore` (skipped when nothing changes).
 * When Docker's chains are not in the selected iptables backend they are looked for where else
 * Docker may have put them, and only then, so the common path costs no extra process:
 * - the other iptables backend: select_iptables picks legacy when legacy holds more
 *   rules (or on a tie where iptables-nft-save fails), while Docker may have written its DNS rules with iptables-nft; kind's bash then
 *   rewrites nothing although resolv.conf points at the host IP, and DNS breaks;
 * - Docker's nftables table (Docker with the nftables firewall backend keeps its DNS NAT
 *   in `ip docker-dns`, which no iptables-save can see).
 */
export async function rewriteNatRules(
  host: Commands & Log,
  hostIp: string,
  saved?: RunResult,
): Promise<DnsRulesPlace> {
  if (await rewriteIptables(host, "iptables", hostIp, { saved })) return "iptables";
  for (const backend of ["iptables-nft", "iptables-legacy"] as const) {
    if (
      host.which(`${backend}-save`) &&
      await rewriteIptables(host, backend, hostIp, { elsewhere: true })
    ) {
      return backend;
    }
  }
  return await rewriteNftDockerDns(host, hostIp) === "absent" ? "nowhere" : "nftables";
}

/**
 * Rewrites Docker's rules in one iptables backend (`iptables`, `iptables-nft`, ...) and says
 * whether Docker's DOCKER_OUTPUT chain is there. `elsewhere`: not the selected backend, only
 * looked at to find Docker's rules, so it is left alone unless they are there, and its failures
 * are not fatal. `saved`: the backend's dump taken earlier, used instead of running `BACKEND-save`.
 */
async function rewriteIptables(
  host: Commands,
  backend: "iptables" | "iptables-nft" | "iptables-legacy",
  hostIp: string,
  options: { elsewhere?: boolean; saved?: RunResult } = {},
): Promise<boolean> {
  const elsewhere = options.elsewhere ?? false;
  // Quiet elsewhere: iptables-nft-save warns on stderr when legacy tables exist.
  const save = options.saved ?? await host.query([`${backend}-save`], {
    nothrow: elsewhere,
    stderr: elsewhere ? "capture" : "forward",
  });
  if (save.status !== 0) return false;
  const saved = save.stdout;
  try {
    parseIptablesSave(saved);
  } catch (error) {
    if (elsewhere) return false;
    throw new EntrypointError(
      `Cannot parse ${backend}-save output: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const found = /^:DOCKER_OUTPUT /m.test(saved);
  if (elsewhere && !found) return false;
  const rewritten = rewriteDockerDnsRules(saved, hostIp, { skipExistingJumps: true });
  if (rewritten !== saved) {
    await host.run([`${backend}-restore`], { input: rewritten, diffAgainst: saved });
  }
  return found;
}

/** The writes of `writeResolvConf`, decided but not yet made. */
export interface ResolvConfPlan {
  /** Files to write, in order: resolv.conf.original (when it is to be kept) first. */
  writes: { file: string; data: string; atomic?: true }[];
  /** The runtime's resolv.conf the new one is rendered from. */
  original: string;
  warnings: string[];
}

/**
 * Reads resolv.conf (and a saved original) and decides the writes: Docker's file is kept as
 * resolv.conf.original and the node's resolv.conf is rewritten. A second run in the same
 * container finds its own output in resolv.conf and keeps the saved original instead of
 * overwriting it with the rewritten file. Throws when the file cannot be read or rewritten.
 * `relay`: the node's DNS relay, whose nameserver line the rendered file gets.
 */
export function planResolvConf(
  host: FileQueries,
  hostIp: string,
  dnsSearch: string | undefined,
  options: { relay?: RelayAddress } = {},
): ResolvConfPlan {
  const { relay } = options;
  const render = (original: string) => renderResolvConf({ original, hostIp, dnsSearch, relay });
  const current = host.readText(RESOLV_CONF);
  let original = current;
  if (host.kind(RESOLV_CONF_ORIGINAL) === "file") {
    const saved = host.readText(RESOLV_CONF_ORIGINAL);
    const ours = render(saved);
    if (ours.ok && ours.content === current) original = saved;
  }
  const result = render(original);
  if (!result.ok) {
    throw new EntrypointError(
      `Cannot rewrite ${RESOLV_CONF}: ${result.reason}; it was left as it was`,
    );
  }
  // The saved copy is a plain file: written whole or not at all (temp file and rename), so a
  // killed run never leaves a partial copy. resolv.conf itself is a bind mount, written in place.
  const writes: ResolvConfPlan["writes"] = original === current
    ? [{ file: RESOLV_CONF_ORIGINAL, data: current, atomic: true }]
    : [];
  writes.push({ file: RESOLV_CONF, data: result.content });
  return { writes, original, warnings: result.warnings };
}

/** Makes the writes of a `ResolvConfPlan`, each file in one write. */
export function applyResolvConf(
  host: FileChanges & Log,
  plan: ResolvConfPlan,
): void {
  for (const warning of plan.warnings) host.log("WARN", warning);
  for (const { file, data, atomic } of plan.writes) host.writeText(file, data, { atomic });
}

/** Keeps Docker's file as resolv.conf.original and writes the node's resolv.conf. */
export function writeResolvConf(
  host: Files & Log,
  hostIp: string,
  dnsSearch: string | undefined,
): void {
  applyResolvConf(host, planResolvConf(host, hostIp, dnsSearch));
}
