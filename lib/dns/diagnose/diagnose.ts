/**
 * `KIND_ENTRYPOINT_DIAGNOSE=1` (or `json`): a DNS report for a running node, printed instead of
 * booting. It reads the rules, resolv.conf and sysctls, asks the node's nameserver for the node's
 * own hostname from the node and from a throwaway pod-like network namespace, and ends with one
 * verdict. It changes nothing on the node but that namespace and its veth pair, which it removes
 * again (also after SIGINT/SIGTERM), with the mount of /run/netns that `ip netns add` makes. It asks no other name, and only servers on this machine:
 * the rules' host IP, the default gateway, the node's own or a loopback address.
 *
 * Exit status: 0 every probe answered (or there is nothing to probe), 1 one did not, 2 the
 * diagnosis itself could not run.
 */
import { DOCKER_EMBEDDED_DNS_IP } from "../docker_dns.ts";
import { gatewayFromRoutes } from "../docker_host_ip.ts";
import { detectRuntime, nameserversOf, probeWords, type Runtime, searchOf } from "../check.ts";
import { addressesOf } from "../message.ts";
import { kernelProbe, loadKernel, type ProbeRequest, type ProbeResult } from "../probe.ts";
import type {
  CommandChanges,
  CommandQueries,
  Environment,
  FileQueries,
  Log,
  Lookups,
} from "../../host/host.ts";
import { parseMountInfo } from "../../host/mountinfo.ts";
import { kernelInNetns } from "./netns.ts";
import { RESOLV_CONF, RESOLV_CONF_ORIGINAL } from "../network_magic.ts";
import { parseNftTable, PREROUTING_CHAIN } from "../nft_dns.ts";
import {
  judgeRelay,
  readRelayView,
  RELAY_POD_LINK,
  relayLine,
  type RelayView,
} from "../relay/diagnose.ts";

/** Bound on each set of probes (UDP and TCP together), from the node and from the pod. */
const DIAGNOSE_PROBE_TIMEOUT_MS = 1000;

/**
 * The pod-like namespace's link: a /30 of IPv4 link-local space (RFC 3927). No pod CIDR can be
 * link-local, so it cannot clash with kind's pod network, and this block is used by none of the
 * well-known link-local services (169.254.169.254 metadata, 169.254.20.10 NodeLocal DNSCache,
 * 169.254.1.1 Calico's gateway). The probe only ever sends to the nameserver, so the pod's
 * address never leaves the node.
 */
export const POD_LINK = { node: "169.254.231.1", pod: "169.254.231.2", prefix: 30 } as const;

/** Why the pod path is not probed without Docker's rules (podman's aardvark-dns). */
const POD_PATH_FORWARDED =
  "without Docker's rules pods reach the resolver through the node's forwarding and the CNI's masquerading, which this diagnosis does not set up";

/** Why the pod path is not probed when Docker's DNS rules are gone. */
const POD_PATH_WITHOUT_RULES =
  "without Docker's DNS rules no rule of the node sends a pod's query to a resolver";

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

/** What resolv.conf says. */
export interface ResolvConfView {
  nameservers: string[];
  search: string[];
}

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

/** Sends the diagnosis's probes: from the node, or from the network namespace at `netns`. */
export type DiagnosisProbe = (request: ProbeRequest & { netns?: string }) => ProbeResult[];

/** The diagnosis's prober, through Deno's FFI; undefined without it (see `loadKernel`). */
export function loadDiagnosisProbe(): DiagnosisProbe | undefined {
  const kernel = loadKernel();
  if (!kernel) return undefined;
  return ({ netns, ...request }) =>
    kernelProbe(netns === undefined ? kernel : kernelInNetns(kernel, netns))(request).finish();
}

/** Options of `diagnose`. */
export interface DiagnoseOptions {
  probe: DiagnosisProbe | undefined;
  /** Suffix of the namespace's and veth's names (the process ID), so runs cannot collide. */
  id: number;
  /** The stop signal received so far, if any: ends the probes early, after cleaning up. */
  stopRequested: () => string | undefined;
}

function readNumber(host: DiagnoseHost, file: string): number | undefined {
  try {
    const value = Number(host.readText(file).trim());
    return Number.isInteger(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function readResolvConf(host: DiagnoseHost, file: string): ResolvConfView | undefined {
  if (host.kind(file) !== "file") return undefined;
  const text = host.readText(file);
  return { nameservers: nameserversOf(text), search: searchOf(text) };
}

async function readBackends(host: DiagnoseHost): Promise<BackendRules[]> {
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
async function localAddresses(host: DiagnoseHost, rulesHostIps: string[]): Promise<Set<string>> {
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

/** Where `ip netns add` keeps its namespaces. */
const NETNS_DIR = "/run/netns";

/**
 * What of NETNS_DIR is there before `ip netns add`, which makes the directory and bind-mounts it
 * onto itself when it is not a mount point yet (`ip netns del` leaves both). An unreadable
 * mount table counts as mounted, so that nothing is unmounted on a guess.
 */
function netnsDirBefore(host: DiagnoseHost): { mounted: boolean; exists: boolean } {
  let mounted = true;
  try {
    mounted = parseMountInfo(host.readText("/proc/self/mountinfo")).some((mount) =>
      mount.mountPoint === NETNS_DIR
    );
  } catch { /* unreadable: taken as mounted */ }
  return { mounted, exists: host.kind(NETNS_DIR) !== undefined };
}

/** Runs the probes from a throwaway pod-like namespace; always removes it. */
async function probeFromPod(
  host: DiagnoseHost,
  probe: DiagnosisProbe,
  request: { server: string; name: string },
  options: DiagnoseOptions & { link?: typeof RELAY_POD_LINK },
): Promise<ProbeSet> {
  const link = options.link ?? { ...POD_LINK, flags: "" };
  const netns = `kets-diag-${options.id}`;
  const veth = `kdiag${options.id}`.slice(0, 15);
  const run = (argv: string[], input?: string) =>
    host.run(argv, { input, nothrow: true, stderr: "capture" });
  const failed = (what: string, result: { status: number | null; stderr: string }) =>
    `cannot ${what}: status ${result.status}${result.stderr ? `: ${result.stderr.trim()}` : ""}`;
  const before = netnsDirBefore(host);
  const added = await run(["ip", "netns", "add", netns]);
  if (added.status !== 0) return { from: "pod", notSent: failed(`create netns ${netns}`, added) };
  try {
    const node = await run(
      ["ip", "-batch", "-"],
      `link add ${veth} type veth peer name eth0 netns ${netns}\n` +
        `addr add ${link.node}/${link.prefix} dev ${veth}${link.flags}\nlink set ${veth} up\n`,
    );
    if (node.status !== 0) return { from: "pod", notSent: failed(`create veth ${veth}`, node) };
    const pod = await run(
      ["ip", "-n", netns, "-batch", "-"],
      `addr add ${link.pod}/${link.prefix} dev eth0${link.flags}\nlink set lo up\n` +
        `link set eth0 up\nroute add default via ${link.node}\n`,
    );
    if (pod.status !== 0) return { from: "pod", notSent: failed(`set up netns ${netns}`, pod) };
    const stop = options.stopRequested();
    if (stop) return { from: "pod", notSent: `stopped by ${stop}` };
    return {
      from: "pod",
      results: probe({
        ...request,
        transports: ["UDP", "TCP"],
        timeoutMs: DIAGNOSE_PROBE_TIMEOUT_MS,
        netns: `/run/netns/${netns}`,
      }),
    };
  } catch (error) {
    return { from: "pod", notSent: (error as Error).message };
  } finally {
    // The veth pair goes with the namespace; deleting it first leaves nothing if that fails.
    await run(["ip", "link", "del", veth]);
    await run(["ip", "netns", "del", netns]);
    // And what ip netns add made for it. Both fail, and leave it be, while another namespace
    // is mounted in the directory or a file is in it: then it is someone else's too.
    if (!before.mounted) await run(["umount", NETNS_DIR]);
    if (!before.exists) await run(["rmdir", NETNS_DIR]);
  }
}

/** Gathers the diagnosis; never changes the node beyond the pod-like namespace it removes. */
export async function diagnose(host: DiagnoseHost, options: DiagnoseOptions): Promise<Diagnosis> {
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
  const facts = {
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
  const probes: ProbeSet[] = [];
  // As at boot: without Docker's rules or podman's aardvark-dns there is no resolver of the
  // runtime's to ask (Docker's default bridge, nerdctl), and the host's own are not asked. But a
  // node that used Docker's resolver and lost its rules has one, which no longer answers.
  const rulesGone = dockerRulesGone(facts) !== undefined;
  const embedded = rulesHostIps.length > 0 || runtime === "podman" || rulesGone;
  if (nameserver !== undefined && options.probe && embedded) {
    const local = await localAddresses(host, rulesHostIps);
    if (local.has(nameserver) || /^127\./.test(nameserver)) {
      const request = { server: nameserver, name };
      probes.push({
        from: "node",
        results: options.probe({
          ...request,
          transports: ["UDP", "TCP"],
          timeoutMs: DIAGNOSE_PROBE_TIMEOUT_MS,
          // As at boot: aardvark-dns refuses for a moment while it rebinds (lib/dns/check.ts).
          retryRefused: rulesHostIps.length === 0 && !rulesGone,
        }),
      });
      if (rulesGone) {
        probes.push({ from: "pod", notSent: POD_PATH_WITHOUT_RULES });
      } else if (rulesHostIps.length === 0) {
        // podman: pods reach aardvark-dns through the node's forwarding and the CNI's
        // masquerading, which a throwaway namespace does not get (and this adds no rule).
        probes.push({ from: "pod", notSent: POD_PATH_FORWARDED });
      } else if (!options.stopRequested()) {
        probes.push(await probeFromPod(host, options.probe, request, options));
      }
    } else {
      const notSent =
        `${nameserver} is not on this machine (not the rules' host IP, the gateway, a node address or loopback), and nothing may leave it`;
      probes.push({ from: "node", notSent }, { from: "pod", notSent });
    }
  }
  // Another DNS service of the node (such as a relay) adds its facts and probes here, as a
  // section of its own in the Diagnosis, its lines in renderReport and its part in judge.
  const resolvText = host.kind(RESOLV_CONF) === "file" ? host.readText(RESOLV_CONF) : "";
  const relay = readRelayView(host, resolvText);
  if (relay?.listen && options.probe && !options.stopRequested()) {
    const request = { server: relay.listen, name };
    relay.pod = await probeFromPod(host, options.probe, request, {
      ...options,
      link: RELAY_POD_LINK,
    });
  }
  const judged = judge({ ...facts, probes }, options.probe !== undefined);
  const { verdict, status } = relay ? judgeRelay(judged, relay) : judged;
  return { ...facts, probes, ...(relay ? { relay } : {}), verdict, status };
}

/** Pods' DNAT to 127.0.0.11 is allowed on their veths (conf/all or the default a new one gets). */
function podsMayRouteLocalnet(value: RouteLocalnet): boolean | undefined {
  if (value.all === undefined && value.default === undefined) return undefined;
  return value.all === 1 || value.default === 1;
}

function failures(set: ProbeSet | undefined): ProbeResult[] {
  return set?.results?.filter((result) => !result.answered) ?? [];
}

/** The verdict line and the exit status, from the facts gathered. */
export function judge(
  facts: Omit<Diagnosis, "verdict" | "status">,
  canProbe: boolean,
): Pick<Diagnosis, "verdict" | "status"> {
  const server = facts.nameserver;
  if (!canProbe) {
    return { status: 2, verdict: "cannot probe: this runtime cannot open sockets through FFI" };
  }
  const hasRules = facts.rulesHostIps.length > 0;
  const rulesGoneFrom = dockerRulesGone(facts);
  if (!hasRules && facts.runtime !== "podman" && !rulesGoneFrom) {
    return {
      status: 0,
      verdict:
        `nothing to check: no embedded resolver (no Docker DNS rules, not podman); the node uses ${
          server ?? "no nameserver"
        }, which is not asked`,
    };
  }
  if (server === undefined) {
    return { status: 1, verdict: `FAIL: ${RESOLV_CONF} names no nameserver` };
  }
  const node = facts.probes.find((set) => set.from === "node");
  const pod = facts.probes.find((set) => set.from === "pod");
  if (node?.notSent) {
    return {
      status: 1,
      verdict: `FAIL: ${RESOLV_CONF} names ${server}, not the container runtime's resolver (${
        facts.rulesHostIps.join(", ") || "the gateway"
      }); not probed`,
    };
  }
  // aardvark-dns before its 2024 releases has no TCP listener (Debian 12's 1.4): a refused TCP
  // connection to it is the runtime's limit, not the node's; the boot check asks it over UDP
  // only for the same reason. Said in the verdict, not counted as a failure.
  const aardvarkWithoutTcp = (result: ProbeResult) =>
    !hasRules && facts.runtime === "podman" && result.transport === "TCP" &&
    result.error === "connection refused";
  const nodeFailed = failures(node).filter((result) => !aardvarkWithoutTcp(result));
  const podFailed = failures(pod);
  const nodeOver = node?.results?.some(aardvarkWithoutTcp)
    ? "UDP (TCP refused: this aardvark-dns has no TCP listener)"
    : "UDP and TCP";
  let where = hasRules && !facts.nameserverIsRulesHostIp
    ? `; ${RESOLV_CONF} names ${server} but Docker's rules send ${
      facts.rulesHostIps.join(", ")
    } to its resolver`
    : "";
  if (rulesGoneFrom) {
    where =
      `; no Docker DNS rule is left, though ${rulesGoneFrom} names Docker's resolver ${DOCKER_EMBEDDED_DNS_IP}: the rules were removed after boot`;
  }
  if (nodeFailed.length > 0) {
    const podToo = podFailed.length > 0 ? " (and pods)" : "";
    return {
      status: 1,
      verdict: `FAIL: the node${podToo} cannot reach ${server} for ${facts.name} over ${
        nodeFailed.map(probeWords).join(" or ")
      }${where}`,
    };
  }
  if (pod?.notSent === POD_PATH_FORWARDED || pod?.notSent === POD_PATH_WITHOUT_RULES) {
    return {
      status: 0,
      verdict:
        `OK: the node reaches ${server} for ${facts.name} over ${nodeOver}; the pod path was not probed (${pod.notSent})`,
    };
  }
  if (pod?.notSent) {
    return {
      status: 2,
      verdict: `the node reaches ${server}; the pod path could not be probed: ${pod.notSent}`,
    };
  }
  if (podFailed.length > 0) {
    let why = "";
    const dnatToLoopback = facts.backends.some((b) =>
      b.rules.some((rule) => rule.hostIp === server && rule.to.startsWith("127."))
    );
    const prerouting = facts.backends.some((b) =>
      b.prerouting && b.rules.some((rule) => rule.hostIp === server)
    );
    if (dnatToLoopback && podsMayRouteLocalnet(facts.routeLocalnet) === false) {
      why =
        ": route_localnet is 0, so the kernel drops pod packets DNATed to 127.0.0.11 (sysctl net.ipv4.conf.all.route_localnet=1)";
    } else if (dnatToLoopback && !prerouting) {
      why = `: no prerouting rule sends pod traffic for ${server} to Docker's DNS rules`;
    }
    return {
      status: 1,
      verdict: `FAIL: the node reaches ${server}, pods do not, over ${
        podFailed.map(probeWords).join(" or ")
      }${why}`,
    };
  }
  return {
    status: 0,
    verdict: `OK: the node and pods reach ${server} for ${facts.name} over UDP and TCP${where}`,
  };
}

function resolvWords(view: ResolvConfView | undefined): string {
  if (!view) return "(none)";
  const search = view.search.length > 0 ? view.search.join(" ") : "(none)";
  return `nameserver ${view.nameservers.join(", ") || "(none)"}; search ${search}`;
}

function probeLine(set: ProbeSet, server: string, name: string): string {
  const head = `probe from the ${set.from.padEnd(4)} -> ${server}:53 for ${name}:`;
  if (set.notSent) return `${head} not sent: ${set.notSent}`;
  return `${head} ${
    set.results!.map((result) => {
      if (
        !result.answered
      ) return `${result.transport} failed after ${result.ms} ms: ${result.error}`;
      const addresses = addressesOf(result.response!);
      const answer = `${result.response!.status}${
        addresses.length ? ` ${addresses.join(" ")}` : ""
      }`;
      return `${result.transport} answered in ${result.ms} ms (${answer})`;
    }).join("; ")
  }`;
}

/** The report as text: one fact per line, the verdict last. */
export function renderReport(d: Diagnosis): string {
  const lines = [
    "kind-entrypoint-ts DNS diagnosis (KIND_ENTRYPOINT_DIAGNOSE=1); nothing on the node was changed",
    `container runtime:    ${d.runtime}`,
  ];
  d.backends.forEach((b, index) => {
    const label = index === 0 ? "Docker's DNS rules:  " : "                     ";
    const name = b.backend === "nftables" ? "nftables ip docker-dns" : b.backend;
    let text: string;
    if (b.unreadable) text = `not read (${b.unreadable})`;
    else if (b.rules.length === 0) text = "none";
    else {
      text = b.rules.map((rule) => `${rule.protocol} ${rule.hostIp}:53 -> ${rule.to}`).join(", ") +
        `; pods' path (prerouting): ${b.prerouting ? "yes" : "no"}`;
    }
    lines.push(`${label} ${name}: ${text}`);
  });
  const ruleIps = d.rulesHostIps.join(", ") || "(no rules)";
  const same = d.nameserver === undefined
    ? "resolv.conf names no nameserver"
    : `resolv.conf's nameserver ${d.nameserver} ${d.nameserverIsRulesHostIp ? "is" : "is not"} it`;
  lines.push(`rules' host IP:       ${ruleIps} (${same})`);
  lines.push(`resolv.conf:          ${resolvWords(d.resolvConf)}`);
  lines.push(`resolv.conf.original: ${resolvWords(d.resolvConfOriginal)}`);
  const value = (v: number | undefined) => v === undefined ? "unreadable" : String(v);
  lines.push(
    `route_localnet:       all=${value(d.routeLocalnet.all)} default=${
      value(d.routeLocalnet.default)
    }`,
  );
  for (const set of d.probes) lines.push(probeLine(set, d.nameserver ?? "?", d.name));
  // Another DNS service's section (see diagnose()) goes here, before the verdict.
  if (d.relay) lines.push(relayLine(d.relay));
  lines.push(`verdict: ${d.verdict}`);
  return lines.map((line) => `${line}\n`).join("");
}

/**
 * Runs the diagnosis for `KIND_ENTRYPOINT_DIAGNOSE` and writes the report; returns the exit
 * status. A diagnosis that fails is status 2 with one `ERROR:` line.
 */
export async function runDiagnose(
  host: DiagnoseHost & Log,
  options: Omit<DiagnoseOptions, "probe"> & {
    format: "text" | "json";
    /** The prober's loader (`loadDiagnosisProbe` unless a test gives another). */
    loadProbe?: () => DiagnosisProbe | undefined;
    write: (text: string) => void;
  },
): Promise<number> {
  let report: Diagnosis;
  try {
    const probe = (options.loadProbe ?? loadDiagnosisProbe)();
    report = await diagnose(host, { ...options, probe });
  } catch (error) {
    host.log("ERROR", `DNS diagnosis failed: ${(error as Error).message}`);
    return 2;
  }
  options.write(
    options.format === "json" ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report),
  );
  const stop = options.stopRequested();
  return stop ? 128 + (stop === "SIGINT" ? 2 : 15) : report.status;
}
