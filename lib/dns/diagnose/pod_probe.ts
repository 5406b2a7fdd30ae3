/**
 * The diagnosis's probes (lib/dns/diagnose/diagnose.ts): the prober through Deno's FFI, and the
 * throwaway pod-like network namespace the pod's probes are sent from, removed again whatever
 * happens.
 */
import { kernelProbe, type ProbeRequest, type ProbeResult } from "../probe.ts";
import { loadKernel } from "../sockets.ts";
import { parseMountInfo } from "../../host/mountinfo.ts";
import { kernelInNetns } from "./netns.ts";
import type { DiagnoseHost, ProbeSet } from "./facts.ts";

/** Bound on each set of probes (UDP and TCP together), from the node and from the pod. */
export const DIAGNOSE_PROBE_TIMEOUT_MS = 1000;

/**
 * The pod-like namespace's link: a /30 of IPv4 link-local space (RFC 3927). No pod CIDR can be
 * link-local, so it cannot clash with kind's pod network, and this block is used by none of the
 * well-known link-local services (169.254.169.254 metadata, 169.254.20.10 NodeLocal DNSCache,
 * 169.254.1.1 Calico's gateway). The probe only ever sends to the nameserver, so the pod's
 * address never leaves the node.
 */
export const POD_LINK = { node: "169.254.231.1", pod: "169.254.231.2", prefix: 30 } as const;

/** Sends the diagnosis's probes: from the node, or from the network namespace at `netns`. */
export type DiagnosisProbe = (request: ProbeRequest & { netns?: string }) => ProbeResult[];

/** The diagnosis's prober, through Deno's FFI; undefined without it (see `loadKernel`). */
export function loadDiagnosisProbe(): DiagnosisProbe | undefined {
  const kernel = loadKernel();
  if (!kernel) return undefined;
  return ({ netns, ...request }) =>
    kernelProbe(netns === undefined ? kernel : kernelInNetns(kernel, netns))(request).finish();
}

/** The throwaway namespace's link: the node's and the pod's address, and `ip addr` flags. */
export interface PodLink {
  node: string;
  pod: string;
  prefix: number;
  /** Appended to `ip addr add` (such as " nodad" for IPv6), or "". */
  flags: string;
}

/** What the pod probe needs of the diagnosis's options. */
export interface PodProbeOptions {
  /** Suffix of the namespace's and veth's names (the process ID), so runs cannot collide. */
  id: number;
  /** The stop signal received so far, if any: ends the probes early, after cleaning up. */
  stopRequested: () => string | undefined;
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
export async function probeFromPod(
  host: DiagnoseHost,
  probe: DiagnosisProbe,
  request: { server: string; name: string },
  options: PodProbeOptions & { link?: PodLink },
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
