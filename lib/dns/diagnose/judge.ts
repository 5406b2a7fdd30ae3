/**
 * The diagnosis's judgement (lib/dns/diagnose/diagnose.ts): one verdict line and the exit status,
 * from the facts and probes gathered. Pure.
 */
import { DOCKER_EMBEDDED_DNS_IP } from "../docker_dns.ts";
import { probeWords } from "../check.ts";
import type { ProbeResult } from "../probe.ts";
import { RESOLV_CONF } from "../network_magic.ts";
import { type Diagnosis, dockerRulesGone, type ProbeSet, type RouteLocalnet } from "./facts.ts";

/** Why the pod path is not probed without Docker's rules (podman's aardvark-dns). */
export const POD_PATH_FORWARDED =
  "without Docker's rules pods reach the resolver through the node's forwarding and the CNI's masquerading, which this diagnosis does not set up";

/** Why the pod path is not probed when Docker's DNS rules are gone. */
export const POD_PATH_WITHOUT_RULES =
  "without Docker's DNS rules no rule of the node sends a pod's query to a resolver";

/** Pods' DNAT to 127.0.0.11 is allowed on their veths (conf/all or the default a new one gets). */
function podsMayRouteLocalnet(value: RouteLocalnet): boolean | undefined {
  if (value.all === undefined && value.default === undefined) return undefined;
  return value.all === 1 || value.default === 1;
}

function failures(set: ProbeSet | undefined): ProbeResult[] {
  return set?.results?.filter((result) => !result.answered) ?? [];
}

/** What the judgement reads: the diagnosis without its verdict. */
type Facts = Omit<Diagnosis, "verdict" | "status">;

/** The verdict line and the exit status. */
type Judgement = Pick<Diagnosis, "verdict" | "status">;

/** The verdict line and the exit status, from the facts gathered. */
export function judge(
  facts: Facts,
  canProbe: boolean,
): Judgement {
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
  return judgeProbes(facts, { server, node, pod, rulesGoneFrom });
}

/** The verdict once the node's probes were sent: from their answers and the pod's. */
function judgeProbes(
  facts: Facts,
  probed: { server: string; node?: ProbeSet; pod?: ProbeSet; rulesGoneFrom?: string },
): Judgement {
  const { server, node, pod, rulesGoneFrom } = probed;
  const hasRules = facts.rulesHostIps.length > 0;
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
  if (podFailed.length > 0) return podFailure(facts, { server, podFailed });
  return {
    status: 0,
    verdict: `OK: the node and pods reach ${server} for ${facts.name} over UDP and TCP${where}`,
  };
}

/** The verdict when the node reaches `server` and pods do not, with the likely cause. */
function podFailure(
  facts: Facts,
  { server, podFailed }: { server: string; podFailed: ProbeResult[] },
): Judgement {
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
