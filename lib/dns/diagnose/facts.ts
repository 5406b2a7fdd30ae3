/**
 * What the diagnosis reads from the node (lib/dns/diagnose/diagnose.ts): Docker's DNS rules in
 * each firewall backend, resolv.conf, route_localnet, the addresses that are this machine; the
 * shape of the whole diagnosis. Reads only.
 */
import { DOCKER_EMBEDDED_DNS_IP } from "../docker_dns.ts";
import { gatewayFromRoutes } from "../docker_host_ip.ts";
import { detectRuntime, type Runtime } from "../check.ts";
import { parseResolvConf, type ResolvConf } from "../resolv_conf.ts";
import type { ProbeResult } from "../probe.ts";
import type {
  CommandChanges,
  CommandQueries,
  Environment,
  FileQueries,
  Lookups,
} from "../../host/host.ts";
import { RESOLV_CONF, RESOLV_CONF_ORIGINAL } from "../network_magic.ts";
import { parseNftTable, PREROUTING_CHAIN } from "../nft_dns.ts";
import type { RelayView } from "../relay/diagnose.ts";

/** One of Docker's DNS DNAT rules: packets for `hostIp:53` over `protocol` go to `to`. */
export interface DnsRule {
  protocol: string;
  hostIp: string;
  /** `127.0.0.11:PORT`, where dockerd's resolver listens. */
  to: string;
}

/** Docker's DNS rules as one firewall backend holds them. */
export interface BackendRules {
  backend: "iptables-nft" | "iptables-legacy" | "nftables";
  rules: DnsRule[];
  /** Pod traffic (prerouting) is sent to the same rules. */
  prerouting: boolean;
  /** Why this backend could not be read (its tool missing or failing). */
  unreadable?: string;
}

/** Docker's DNS rules in `iptables-save -t nat` output: chain DOCKER_OUTPUT's DNAT rules. */
export function parseIptablesDnsRules(saved: string): Pick<BackendRules, "rules" | "prerouting"> {
  const rules: DnsRule[] = [];
  let prerouting = false;
  for (const line of saved.split("\n")) {
    if (/^-A PREROUTING .*-j DOCKER_OUTPUT\b/.test(line)) prerouting = true;
    if (!line.startsWith("-A DOCKER_OUTPUT ") || !/-j DNAT\b/.test(line)) continue;
    const hostIp = /\s-d (\d+\.\d+\.\d+\.\d+)(?:\/32)?\s/.exec(line)?.[1];
    const protocol = /\s-p (\w+)/.exec(line)?.[1];
    const to = /--to-destination (\S+)/.exec(line)?.[1];
    if (hostIp && protocol && to) rules.push({ protocol, hostIp, to });
  }
  return { rules, prerouting };
}

/** Docker's DNS rules in `nft list table ip docker-dns` output (chain dns-dnat, and prerouting). */
export function parseNftDnsRules(listing: string): Pick<BackendRules, "rules" | "prerouting"> {
  const table = parseNftTable(listing);
  const rules: DnsRule[] = [];
  let prerouting = false;
  for (const chain of table.chains) {
    if (chain.name === PREROUTING_CHAIN) prerouting = chain.rules.length > 0;
    if (chain.name !== "dns-dnat") continue;
    for (const line of chain.rules) {
      const match = /ip daddr (\S+) (\w+) dport 53 .*dnat to (\S+)/.exec(line);
      if (match) rules.push({ hostIp: match[1], protocol: match[2], to: match[3] });
    }
  }
  return { rules, prerouting };
}

/** What resolv.conf says, as the report shows it. */
export type ResolvConfView = ResolvConf;

/** route_localnet, which pods' DNAT to 127.0.0.11 needs (unset when unreadable). */
export interface RouteLocalnet {
  all?: number;
  /** The value a new interface (such as a pod's veth) starts with. */
  default?: number;
}

/** Probes from one place. */
export interface ProbeSet {
  from: "node" | "pod";
  results?: ProbeResult[];
  /** Why these probes were not sent. */
  notSent?: string;
}

/** The whole diagnosis, as printed (JSON) or rendered (text). */
export interface Diagnosis {
  runtime: Runtime;
  backends: BackendRules[];
  /** The host IPs Docker's DNS rules send to the resolver (127.0.0.11 before the entrypoint ran). */
  rulesHostIps: string[];
  resolvConf: ResolvConfView;
  resolvConfOriginal?: ResolvConfView;
  /** The nameserver probed: resolv.conf's first. */
  nameserver?: string;
  /** Whether that nameserver is where Docker's rules point. */
  nameserverIsRulesHostIp: boolean;
  routeLocalnet: RouteLocalnet;
  /** The name asked for: the node's hostname. */
  name: string;
  probes: ProbeSet[];
  /** The DNS relay for IPv6 pods (lib/dns/relay), on nodes that have one. */
  relay?: RelayView;
  verdict: string;
  status: 0 | 1 | 2;
}

/**
 * The resolv.conf file naming Docker's embedded resolver while no backend holds Docker's DNS
 * rules: they were removed after boot (resolv.conf.original keeps what Docker wrote before the
 * network magic rewrote it), so the node's DNS is broken, not absent. Undefined otherwise.
 */
export function dockerRulesGone(
  facts: Pick<Diagnosis, "rulesHostIps" | "resolvConf" | "resolvConfOriginal">,
): string | undefined {
  if (facts.rulesHostIps.length > 0) return undefined;
  if (facts.resolvConf.nameservers.includes(DOCKER_EMBEDDED_DNS_IP)) return RESOLV_CONF;
  if (facts.resolvConfOriginal?.nameservers.includes(DOCKER_EMBEDDED_DNS_IP)) {
    return RESOLV_CONF_ORIGINAL;
  }
  return undefined;
}

/** What the diagnosis reads, and runs to make (and remove) the pod-like namespace. */
export type DiagnoseHost = FileQueries & CommandQueries & CommandChanges & Environment & Lookups;

/** An integer from a /proc/sys file, or undefined when it is unreadable or not one. */
export function readNumber(host: DiagnoseHost, file: string): number | undefined {
  try {
    const value = Number(host.readText(file).trim());
    return Number.isInteger(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The nameservers and search list of a resolv.conf, or undefined when there is none. */
export function readResolvConf(host: DiagnoseHost, file: string): ResolvConfView | undefined {
  if (host.kind(file) !== "file") return undefined;
  return parseResolvConf(host.readText(file));
}

/** Docker's DNS rules as each firewall backend holds them (iptables-nft, -legacy, nftables). */
export async function readBackends(host: DiagnoseHost): Promise<BackendRules[]> {
  const read = { nothrow: true, stderr: "capture" } as const;
  const iptables = (["iptables-nft", "iptables-legacy"] as const).map(async (backend) => {
    const tool = `${backend}-save` as const;
    if (!host.which(tool)) {
      return { backend, rules: [], prerouting: false, unreadable: `${tool} is not in PATH` };
    }
    const saved = await host.query([tool], read);
    if (saved.status !== 0) {
      return {
        backend,
        rules: [],
        prerouting: false,
        unreadable: `${tool} exited with status ${saved.status}`,
      };
    }
    return { backend, ...parseIptablesDnsRules(saved.stdout) };
  });
  const nftables = (async (): Promise<BackendRules> => {
    const backend = "nftables";
    if (!host.which("nft")) {
      return { backend, rules: [], prerouting: false, unreadable: "nft is not in PATH" };
    }
    const listed = await host.query(["nft", "list", "table", "ip", "docker-dns"], read);
    // No table is the common case (Docker's iptables backend): no rules, nothing unreadable.
    if (listed.status !== 0) return { backend, rules: [], prerouting: false };
    try {
      return { backend, ...parseNftDnsRules(listed.stdout) };
    } catch (error) {
      const why = `cannot parse its listing: ${(error as Error).message}`;
      return { backend, rules: [], prerouting: false, unreadable: why };
    }
  })();
  return await Promise.all([...iptables, nftables]);
}

/** Addresses the diagnosis may send to: all are this machine (see the module comment). */
export async function localAddresses(
  host: DiagnoseHost,
  rulesHostIps: string[],
): Promise<Set<string>> {
  const local = new Set(rulesHostIps);
  const read = { nothrow: true, stderr: "ignore" } as const;
  const [routes, addresses] = await Promise.all([
    host.query(["ip", "-4", "route", "show", "default"], read),
    host.query(["ip", "-4", "-o", "addr", "show"], read),
  ]);
  try {
    local.add(gatewayFromRoutes(routes.stdout));
  } catch { /* no single default gateway: nothing to add */ }
  for (const match of addresses.stdout.matchAll(/\sinet (\d+\.\d+\.\d+\.\d+)\//g)) {
    local.add(match[1]);
  }
  return local;
}

/** What the diagnosis reads before it probes: every fact but the probes, relay and verdict. */
export type Facts = Omit<Diagnosis, "probes" | "relay" | "verdict" | "status">;

/** Reads the facts: the runtime, Docker's rules, resolv.conf, route_localnet, the hostname. */
export async function readFacts(host: DiagnoseHost): Promise<Facts> {
  const runtime = detectRuntime(host);
  const backends = await readBackends(host);
  const rulesHostIps = [...new Set(backends.flatMap((b) => b.rules.map((rule) => rule.hostIp)))];
  const resolvConf = readResolvConf(host, RESOLV_CONF) ?? { nameservers: [], search: [] };
  const resolvConfOriginal = readResolvConf(host, RESOLV_CONF_ORIGINAL);
  const nameserver = resolvConf.nameservers[0];
  const routeLocalnet = {
    all: readNumber(host, "/proc/sys/net/ipv4/conf/all/route_localnet"),
    default: readNumber(host, "/proc/sys/net/ipv4/conf/default/route_localnet"),
  };
  const name = host.hostname();
  return {
    runtime,
    backends,
    rulesHostIps,
    resolvConf,
    resolvConfOriginal,
    nameserver,
    nameserverIsRulesHostIp: nameserver !== undefined && rulesHostIps.includes(nameserver),
    routeLocalnet,
    name,
  };
}
