/**
 * The DNS relay on a node (see docs/ipv6.md): whether this node needs it, the nameserver line it
 * adds to the node's resolv.conf, and the files that have systemd start it. Only nodes of
 * clusters with IPv6 get any of it; on any other node nothing here writes, runs or logs anything.
 */
import type {
  Announcements,
  CommandChanges,
  FileChanges,
  FileQueries,
  Lookups,
} from "../../host/host.ts";
import { isAddress } from "../../ip.ts";
import { NODE_LOOKUP_TIMEOUT_MS, parseRememberedAddress } from "../node_ip.ts";
import { RELAY_ENV } from "./config.ts";
import {
  namesNameserver,
  parseResolvConf,
  type RelayNameserver,
  withoutZone,
} from "../resolv_conf.ts";

/** The relay's systemd unit, as the image installs it (images/kind-dns-relay.service). */
export const RELAY_UNIT_FILE = "/usr/local/lib/systemd/system/kind-dns-relay.service";
/** The directory whose symlinks make systemd start units at boot. */
export const RELAY_WANTS_DIR = "/etc/systemd/system/multi-user.target.wants";
/** The symlink that enables the unit. */
export const RELAY_WANTS_LINK = `${RELAY_WANTS_DIR}/kind-dns-relay.service`;
/** The unit's settings (its EnvironmentFile). */
export const RELAY_ENV_FILE = "/etc/kind-dns-relay.env";
/** Kernel settings kind passes with `--sysctl` to every node of a cluster with IPv6. */
export const IPV6_SYSCTLS = {
  disableIpv6: "/proc/sys/net/ipv6/conf/all/disable_ipv6",
  forwarding: "/proc/sys/net/ipv6/conf/all/forwarding",
} as const;
/** Where kind's entrypoint remembers the node's IPv6 address (lib/dns/node_ip.ts). */
const OLD_IPV6 = "/kind/old-ipv6";

/**
 * Whether the node belongs to a cluster with IPv6 (IPv6-only or dual-stack): kind starts those
 * nodes, and only those, with `net.ipv6.conf.all.disable_ipv6=0` and `forwarding=1`. An IPv6
 * address alone says nothing: kind's Docker network has an IPv6 subnet for every cluster, and
 * without the flags a container has an IPv6 address with `disable_ipv6=1` and `forwarding=0`.
 */
export function isIpv6Cluster(
  disableIpv6: string | undefined,
  forwarding: string | undefined,
): boolean {
  return disableIpv6?.trim() === "0" && forwarding?.trim() === "1";
}

/** Whether `address` is one the relay can listen on for pods: global or unique-local IPv6. */
export function isRelayAddress(address: string): boolean {
  return isAddress(address, 6) && !/^(::ffff:|fe[89ab][0-9a-f]:|::1?$)/i.test(address);
}

/** What the relay is to do: listen on the node's address, forward to the node's nameserver. */
export interface RelaySettings {
  listen: string;
  upstream: string;
}

/**
 * The relay's settings for a node's resolv.conf as written: the relay runs only when the file
 * names it (lib/dns/resolv_conf.ts's `addRelayNameserver` added it), and forwards to the first
 * IPv4 nameserver.
 */
export function relaySettings(resolvConf: string, relay: string): RelaySettings | undefined {
  if (!namesNameserver(resolvConf, relay)) return undefined;
  const servers = parseResolvConf(resolvConf).nameservers.map(withoutZone);
  const upstream = servers.find((server) => isAddress(server, 4));
  return upstream === undefined ? undefined : { listen: relay, upstream };
}

/** The unit's environment file for `settings`. */
export function renderRelayEnv(settings: RelaySettings): string {
  return [
    "# The DNS relay for IPv6 pods (kind-dns-relay.service); written by the entrypoint at boot.",
    `${RELAY_ENV.listen}=${settings.listen}`,
    `${RELAY_ENV.upstream}=${settings.upstream}`,
    "",
  ].join("\n");
}

/** The node's relay address, and the one of an earlier boot, when the node is to have a relay. */
export type RelayAddress = RelayNameserver;

/**
 * Finds whether this node is to run the relay and on which address: only in a cluster with IPv6
 * (`isIpv6Cluster`), on the node's own IPv6 address (`getent ahostsv6 $(hostname)`, as
 * lib/dns/node_ip.ts finds it). Undefined otherwise; then nothing is logged, run or written.
 */
export async function findRelayAddress(
  host: FileQueries & Lookups,
): Promise<RelayAddress | undefined> {
  const read = (file: string) => host.kind(file) === "file" ? host.readText(file) : undefined;
  if (!isIpv6Cluster(read(IPV6_SYSCTLS.disableIpv6), read(IPV6_SYSCTLS.forwarding))) {
    return undefined;
  }
  const address = await host.lookup(host.hostname(), 6, NODE_LOOKUP_TIMEOUT_MS);
  if (address === undefined || !isRelayAddress(address)) return undefined;
  const remembered = read(OLD_IPV6);
  const old = remembered === undefined ? undefined : parseRememberedAddress(remembered);
  return old && isAddress(old, 6) ? { address, old } : { address };
}

/**
 * Has systemd start the relay at boot with `settings`: writes the unit's environment file and the
 * symlink that enables it. Running it again changes nothing but a changed address.
 */
export async function enableRelay(
  host: FileQueries & FileChanges & CommandChanges & Announcements,
  settings: RelaySettings,
): Promise<void> {
  host.announce(
    `enabling the DNS relay for IPv6 pods on [${settings.listen}]:53, forwarding to ${settings.upstream}`,
  );
  host.writeText(RELAY_ENV_FILE, renderRelayEnv(settings), { atomic: true });
  if (host.kind(RELAY_WANTS_LINK) === undefined) {
    host.mkdirp(RELAY_WANTS_DIR);
    await host.run(["ln", "-sfn", RELAY_UNIT_FILE, RELAY_WANTS_LINK]);
  }
}
