/**
 * `KIND_ENTRYPOINT_DIAGNOSE=1` (or `json`): a DNS report for a running node, printed instead of
 * booting. It reads the rules, resolv.conf and sysctls, asks the node's nameserver for the node's
 * own hostname from the node and from a throwaway pod-like network namespace, and ends with one
 * verdict. It changes nothing on the node but that namespace and its veth pair, which it removes
 * again (also after SIGINT/SIGTERM), with the mount of /run/netns that `ip netns add` makes. It
 * asks no other name, and only servers on this machine: the rules' host IP, the default gateway,
 * the node's own or a loopback address.
 *
 * The rooms: facts.ts reads the node, pod_probe.ts probes from a throwaway namespace, judge.ts
 * gives the verdict, report.ts renders the text; this module runs them in order.
 *
 * Exit status: 0 every probe answered (or there is nothing to probe), 1 one did not, 2 the
 * diagnosis itself could not run.
 */
import type { Log } from "../../host/host.ts";
import { RESOLV_CONF } from "../network_magic.ts";
import { judgeRelay, readRelayView, RELAY_POD_LINK } from "../relay/diagnose.ts";
import {
  type DiagnoseHost,
  type Diagnosis,
  dockerRulesGone,
  localAddresses,
  type ProbeSet,
  readFacts,
} from "./facts.ts";
import { judge, POD_PATH_FORWARDED, POD_PATH_WITHOUT_RULES } from "./judge.ts";
import {
  DIAGNOSE_PROBE_TIMEOUT_MS,
  type DiagnosisProbe,
  loadDiagnosisProbe,
  type PodProbeOptions,
  probeFromPod,
} from "./pod_probe.ts";
import { renderReport } from "./report.ts";

/** Options of `diagnose`. */
export interface DiagnoseOptions extends PodProbeOptions {
  probe: DiagnosisProbe | undefined;
}

/** Gathers the diagnosis; never changes the node beyond the pod-like namespace it removes. */
export async function diagnose(host: DiagnoseHost, options: DiagnoseOptions): Promise<Diagnosis> {
  const facts = await readFacts(host);
  const { runtime, rulesHostIps, nameserver, name } = facts;
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
