/**
 * The DNS relay's part of `KIND_ENTRYPOINT_DIAGNOSE` (lib/dns/diagnose/diagnose.ts): its settings as the
 * entrypoint wrote them, whether resolv.conf names it, and whether a socket listens on its address
 * and port 53 (the kernel's socket tables), and whether it answers an IPv6-only pod (the diagnosis
 * probes it from a throwaway namespace with no IPv4 at all, `RELAY_POD_LINK`); a relay that does
 * not answers fails the verdict. Only on nodes that have its settings file; the diagnosis of any
 * other node has no relay section at all.
 */
import type { FileQueries } from "../../host/host.ts";
import type { ProbeResult } from "../probe.ts";
import { parseIPv6 } from "../../ip.ts";
import { RELAY_ENV } from "./config.ts";
import { namesNameserver } from "../resolv_conf.ts";
import { RELAY_ENV_FILE } from "./node.ts";

/** What the diagnosis reports of the relay. */
export interface RelayView {
  listen?: string;
  upstream?: string;
  /** resolv.conf has a `nameserver` line for the relay's address. */
  inResolvConf: boolean;
  /** A UDP socket is bound to the address and port 53 (undefined: /proc/net/udp6 unreadable). */
  udp?: boolean;
  /** A TCP socket listens on them (undefined: /proc/net/tcp6 unreadable). */
  tcp?: boolean;
  /** The probes of the relay from an IPv6-only pod-like namespace (none without a probe). */
  pod?: { from: "node" | "pod"; results?: ProbeResult[]; notSent?: string };
}

/**
 * The IPv6-only namespace's link: a /126 of a unique-local prefix no kind network uses (kind's
 * is fc00:f853:ccd:e793::/64, its pods' fd00:10:244::/56), `nodad` so that the addresses are
 * usable at once. The probe only sends to the relay's address, on the node.
 */
export const RELAY_POD_LINK = {
  node: "fd6b:6574:7364::1",
  pod: "fd6b:6574:7364::2",
  prefix: 126,
  flags: " nodad",
} as const;

/** The verdict with the relay's part: an unanswered relay probe fails a verdict that passed. */
export function judgeRelay<S extends number>(
  judged: { verdict: string; status: S },
  view: RelayView,
): { verdict: string; status: S | 1 } {
  if (judged.status !== 0 || !view.pod) return judged;
  const at = `[${view.listen}]:53`;
  if (view.pod.notSent !== undefined) {
    return { status: 1, verdict: `FAIL: cannot probe the DNS relay ${at}: ${view.pod.notSent}` };
  }
  const failed = (view.pod.results ?? []).filter((result) => !result.answered);
  if (failed.length === 0) return judged;
  const why = failed.map((r) => `${r.transport} ${r.error ?? "no answer"}`).join(", ");
  return {
    status: 1,
    verdict: `FAIL: an IPv6-only pod gets no answer from the DNS relay ${at} (${why})`,
  };
}

/** `KEY=value` lines of an environment file (comments and blank lines skipped). */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) values[match[1]] = match[2].trim();
  }
  return values;
}

/**
 * An IPv6 address and port as /proc/net/{udp6,tcp6} print a local address: the 16 bytes as four
 * 32-bit words, each in the machine's (little-endian) byte order, in hex, then `:PORT` in hex.
 */
export function procNetAddress(address: string, port: number): string | undefined {
  const groups = parseIPv6(address);
  if (!groups) return undefined;
  const bytes = groups.flatMap((group) => [group >> 8, group & 0xff]);
  let hex = "";
  for (let word = 0; word < 16; word += 4) {
    for (let i = 3; i >= 0; i--) hex += bytes[word + i].toString(16).padStart(2, "0");
  }
  return `${hex}:${port.toString(16).padStart(4, "0")}`.toUpperCase();
}

/**
 * Whether /proc/net/udp6 or tcp6 text has a socket on `local` (as `procNetAddress` prints it) in
 * `state` (hex: `07` an unconnected UDP socket, `0A` a listening TCP socket).
 */
export function hasSocket(table: string, local: string, state: string): boolean {
  return table.split("\n").some((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[1]?.toUpperCase() === local && fields[3]?.toUpperCase() === state;
  });
}

/** The relay's view, or undefined when the node has no relay settings. */
export function readRelayView(host: FileQueries, resolvConf: string): RelayView | undefined {
  if (host.kind(RELAY_ENV_FILE) !== "file") return undefined;
  const env = parseEnvFile(host.readText(RELAY_ENV_FILE));
  const listen = env[RELAY_ENV.listen];
  const upstream = env[RELAY_ENV.upstream];
  const local = listen === undefined ? undefined : procNetAddress(listen, 53);
  const table = (file: string, state: string) => {
    if (local === undefined) return false;
    try {
      return hasSocket(host.readText(file), local, state);
    } catch {
      return undefined;
    }
  };
  return {
    listen,
    upstream,
    inResolvConf: listen !== undefined && namesNameserver(resolvConf, listen),
    udp: table("/proc/net/udp6", "07"),
    tcp: table("/proc/net/tcp6", "0A"),
  };
}

/** The report's line for the relay. */
export function relayLine(view: RelayView): string {
  const yesNo = (value: boolean | undefined) =>
    value === undefined ? "unknown" : value ? "yes" : "no";
  const at = view.listen === undefined ? "(no address)" : `[${view.listen}]:53`;
  const pod = view.pod?.notSent !== undefined
    ? `; from an IPv6-only pod: not probed (${view.pod.notSent})`
    : view.pod?.results
    ? `; from an IPv6-only pod: ${
      view.pod.results.map((r) =>
        `${r.transport} ${r.answered ? `answered in ${r.ms} ms` : r.error ?? "no answer"}`
      ).join(", ")
    }`
    : "";
  return `DNS relay (IPv6 pods): ${at} -> ${view.upstream ?? "(no upstream)"}:53; ` +
    `in resolv.conf: ${yesNo(view.inResolvConf)}; listening: UDP ${yesNo(view.udp)}, TCP ${
      yesNo(view.tcp)
    }${pod}`;
}
