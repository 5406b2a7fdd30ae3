/**
 * The DNS check at boot: right after the network magic, ask the nameserver just written into
 * resolv.conf for the node's own hostname, over UDP and over TCP. Docker's embedded resolver and
 * podman's aardvark-dns answer that name themselves, so the question never leaves the machine.
 * Silent when it answers; one `WARN: DNS: ...` line saying what, where and why when it does not.
 * The boot goes on either way. Only the node's own path is checked (OUTPUT); pods take
 * PREROUTING and need route_localnet, which `KIND_ENTRYPOINT_DIAGNOSE=1` checks (lib/dns/diagnose/diagnose.ts).
 */
import { DOCKER_EMBEDDED_DNS_IP } from "./docker_dns.ts";
import { parseResolvConf } from "./resolv_conf.ts";
import type { ProbeInFlight, ProbeResult, StartProbe, Transport } from "./probe.ts";
import type { Environment, FileQueries, Log, Lookups } from "../host/host.ts";
import type { DnsRulesPlace, NetworkMagic } from "./network_magic.ts";

/** Bound on the whole boot check, both transports together (it counts in every boot). */
export const BOOT_CHECK_TIMEOUT_MS = 300;

/** The container runtime, as far as the node can tell. */
export type Runtime = "Docker" | "podman" | "other";

/** What the node shows of its runtime: Docker's and podman's marker files, `$container`. */
export interface RuntimeMarks {
  dockerenv: boolean;
  containerenv: boolean;
  container: string | undefined;
}

/**
 * The runtime from its marks. podman writes /run/.containerenv and sets `container=podman`
 * (kind's image sets `container=docker`, which podman overrides); Docker writes /.dockerenv.
 */
export function runtimeFromMarks(marks: RuntimeMarks): Runtime {
  if (marks.containerenv || marks.container === "podman") return "podman";
  if (marks.dockerenv) return "Docker";
  return "other";
}

/** The runtime this node runs under. */
export function detectRuntime(host: FileQueries & Environment): Runtime {
  return runtimeFromMarks({
    dockerenv: host.kind("/.dockerenv") !== undefined,
    containerenv: host.kind("/run/.containerenv") !== undefined,
    container: host.env("container"),
  });
}

/**
 * The server the boot check asks, or undefined when there is nothing to check: only a resolver
 * the runtime itself runs, now named in resolv.conf. That is Docker's embedded resolver (the
 * runtime's file named 127.0.0.11, now moved to the host IP) or podman's aardvark-dns (the
 * runtime's file named the gateway). Docker's default bridge and nerdctl give the host's own
 * nameservers, which are not asked.
 */
export function bootCheckServer(
  magic: NetworkMagic,
  runtime: () => Runtime,
): string | undefined {
  if (!parseResolvConf(magic.resolvConf.written).nameservers.includes(magic.hostIp)) {
    return undefined;
  }
  const original = parseResolvConf(magic.resolvConf.original).nameservers;
  if (original.includes(DOCKER_EMBEDDED_DNS_IP)) return magic.hostIp;
  if (original.includes(magic.hostIp) && runtime() === "podman") return magic.hostIp;
  return undefined;
}

/** Where Docker's DNS rules were found, in words; `iptablesMode`: the backend select_iptables chose. */
export function rulesPlaceWords(place: DnsRulesPlace, iptablesMode?: string): string {
  switch (place) {
    case "iptables":
      return iptablesMode ? `iptables-${iptablesMode}` : "iptables";
    case "iptables-nft":
    case "iptables-legacy":
      return place;
    case "nftables":
      return "Docker's nftables table ip docker-dns";
    case "nowhere":
      return "nowhere";
  }
}

/** How one probe went, for a log line: `UDP (connection refused)`, `TCP (0.4 ms)`. */
export function probeWords(result: ProbeResult): string {
  return `${result.transport} (${result.answered ? `${result.ms} ms` : result.error})`;
}

/** What to look at, for the runtime and the place of Docker's rules. */
function whatToCheck(server: string, runtime: Runtime, rules: string): string {
  if (runtime === "podman") {
    return `aardvark-dns should answer on ${server}:53 for this network (podman network inspect), and no firewall on the host may drop it`;
  }
  if (rules === "nowhere") {
    return runtime === "Docker"
      ? "no iptables backend and no nftables table holds Docker's DNS rules: which firewall backend does dockerd use, and can this node's iptables or nft see it?"
      : `the container runtime's DNS server at ${server}`;
  }
  const listing = rules.startsWith("iptables")
    ? `${rules}-save -t nat, chain DOCKER_OUTPUT`
    : "nft list table ip docker-dns";
  return `the DNAT rules (${listing}) must send ${server}:53 to the ports dockerd's resolver listens on at ${DOCKER_EMBEDDED_DNS_IP}; they go stale when dockerd restarts without the node`;
}

/** Facts of a failed boot check, for its warning. */
export interface BootCheckFacts {
  server: string;
  name: string;
  runtime: Runtime;
  /** Where Docker's DNS rules were found, in words (`rulesPlaceWords`). */
  rules: string;
  results: ProbeResult[];
}

/**
 * The one warning line for a boot check (without `WARN: `), or undefined when every transport
 * answered.
 */
export function bootCheckWarning(facts: BootCheckFacts): string | undefined {
  const failed = facts.results.filter((result) => !result.answered);
  if (failed.length === 0) return undefined;
  const answered = facts.results.filter((result) => result.answered);
  let what =
    `nameserver ${facts.server} (/etc/resolv.conf) did not answer ${facts.name} from the node over ${
      failed.map(probeWords).join(" or ")
    }`;
  if (answered.length > 0) what += `, though it did over ${answered.map(probeWords).join(", ")}`;
  return `DNS: ${what}; container runtime: ${facts.runtime}; Docker's DNS rules: ${facts.rules}; check: ${
    whatToCheck(facts.server, facts.runtime, facts.rules)
  }; for a full report run KIND_ENTRYPOINT_DIAGNOSE=1 /usr/local/bin/entrypoint in the node`;
}

/** What the boot check needs besides the network magic's result. */
export interface BootCheckOptions {
  /** Starts the probe, or undefined where it cannot run (then nothing is checked). */
  start: StartProbe | undefined;
  /** The backend select_iptables chose, when it ran. */
  iptablesMode?: string;
}

/** A boot check in flight: `finish` waits for the answers and logs the WARN line if one failed. */
export interface BootCheck {
  finish(): void;
}

/**
 * Starts the check of the nameserver just written into resolv.conf: the queries go out now, so
 * that the resolver answers while the boot does other work; undefined when there is nothing to
 * check. Never throws: a check that cannot run says so in one WARN line and the boot goes on.
 */
export function startDnsCheck(
  host: FileQueries & Environment & Lookups & Log,
  magic: NetworkMagic,
  options: BootCheckOptions,
): BootCheck | undefined {
  if (!options.start) return undefined;
  // Asked only when needed: the common path (Docker's resolver) needs no file test for it.
  let runtime: Runtime | undefined;
  const knownRuntime = () => runtime ??= detectRuntime(host);
  const server = bootCheckServer(magic, knownRuntime);
  if (server === undefined) return undefined;
  // Docker's resolver serves UDP and TCP; aardvark-dns (podman) may serve UDP only, so on
  // podman a TCP failure is the runtime's, not the node's: UDP only.
  const dockerResolver = server === magic.hostIp &&
    parseResolvConf(magic.resolvConf.original).nameservers.includes(DOCKER_EMBEDDED_DNS_IP);
  const transports: Transport[] = dockerResolver ? ["UDP", "TCP"] : ["UDP"];
  const name = host.hostname();
  const cannotRun = (error: unknown) =>
    host.log(
      "WARN",
      `DNS: the check of nameserver ${server} could not run: ${(error as Error).message}`,
    );
  let inFlight: ProbeInFlight;
  try {
    inFlight = options.start({
      server,
      name,
      transports,
      timeoutMs: BOOT_CHECK_TIMEOUT_MS,
      // Docker's resolver listens as long as dockerd runs: a refusal there is the answer.
      // aardvark-dns may still be starting with the network, or rebinding its sockets for the
      // node that just joined (it may do so on every reload): a refusal is asked again.
      retryRefused: !dockerResolver,
    });
  } catch (error) {
    cannotRun(error);
    return undefined;
  }
  return {
    finish() {
      let results: ProbeResult[];
      try {
        results = inFlight.finish();
      } catch (error) {
        cannotRun(error);
        return;
      }
      const warning = bootCheckWarning({
        server,
        name,
        runtime: knownRuntime(),
        rules: rulesPlaceWords(magic.rules, options.iptablesMode),
        results,
      });
      if (warning) host.log("WARN", warning);
    },
  };
}

/** The whole boot check at once: start, wait, and warn if needed. */
export function checkDnsAtBoot(
  host: FileQueries & Environment & Lookups & Log,
  magic: NetworkMagic,
  options: BootCheckOptions,
): void {
  startDnsCheck(host, magic, options)?.finish();
}
