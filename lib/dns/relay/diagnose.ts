/**
 * The DNS relay's part of `KIND_ENTRYPOINT_DIAGNOSE` (lib/dns/diagnose/diagnose.ts): its settings as the
 * entrypoint wrote them, whether resolv.conf names it, and whether a socket listens on its address
 * and port 53 (the kernel's socket tables). Only on nodes that have its settings file; the
 * diagnosis of any other node has no relay section at all.
 */
import type { FileQueries } from "../../host/host.ts";
import { parseIPv6 } from "../../ip.ts";
import { RELAY_ENV } from "./config.ts";
import { parseResolvConf, withoutZone } from "../resolv_conf.ts";
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
    inResolvConf: listen !== undefined &&
      parseResolvConf(resolvConf).nameservers.map(withoutZone).some((server) =>
        server.toLowerCase() === listen.toLowerCase()
      ),
    udp: table("/proc/net/udp6", "07"),
    tcp: table("/proc/net/tcp6", "0A"),
  };
}

/** The report's line for the relay. */
export function relayLine(view: RelayView): string {
  const yesNo = (value: boolean | undefined) =>
    value === undefined ? "unknown" : value ? "yes" : "no";
  const at = view.listen === undefined ? "(no address)" : `[${view.listen}]:53`;
  return `DNS relay (IPv6 pods): ${at} -> ${view.upstream ?? "(no upstream)"}:53; ` +
    `in resolv.conf: ${yesNo(view.inResolvConf)}; listening: UDP ${yesNo(view.udp)}, TCP ${
      yesNo(view.tcp)
    }`;
}
