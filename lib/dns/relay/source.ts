/**
 * Which of the node's own addresses the relay's upstream sockets are bound to, so that no socket
 * of the relay sits on a wildcard address. Pure: the interfaces come in as a value
 * (`Deno.networkInterfaces()` in relay.ts).
 */
import { parseIPv4, parseIPv6 } from "../../ip.ts";

/** What `sourceAddress` reads of an interface address (a subset of `Deno.NetworkInterfaceInfo`). */
export interface InterfaceAddress {
  family: "IPv4" | "IPv6";
  address: string;
  /** `address/prefix`. */
  cidr: string;
}

/** The bits of an address literal, most significant first, or undefined. */
function bits(address: string): number[] | undefined {
  const v4 = parseIPv4(address);
  const words = v4 ?? parseIPv6(address.replace(/%.*$/, ""));
  if (!words) return undefined;
  const width = v4 ? 8 : 16;
  return words.flatMap((word) =>
    Array.from({ length: width }, (_, i) => (word >> (width - 1 - i)) & 1)
  );
}

/** The length of the prefix of `cidr` that contains `address`, or -1 when it does not. */
function containing(cidr: string, address: string): number {
  const [network, prefixText] = cidr.split("/");
  const a = bits(network);
  const b = bits(address);
  const prefix = Number(prefixText);
  if (!a || !b || a.length !== b.length || !Number.isInteger(prefix)) return -1;
  for (let i = 0; i < prefix; i++) if (a[i] !== b[i]) return -1;
  return prefix;
}

const isLoopback = (address: string) => address === "::1" || address.startsWith("127.");

/**
 * The node's address to send to `upstream` from: the address of the interface whose network
 * holds the upstream (the longest prefix), else for a loopback upstream the loopback address,
 * else the first non-loopback, non-link-local address of the upstream's family; undefined when
 * the node has none of that family.
 */
export function sourceAddress(
  upstream: string,
  interfaces: readonly InterfaceAddress[],
): string | undefined {
  const family = upstream.includes(":") ? "IPv6" : "IPv4";
  const candidates = interfaces.filter((i) =>
    i.family === family && !i.address.toLowerCase().startsWith("fe80:")
  );
  let best: InterfaceAddress | undefined;
  let bestPrefix = -1;
  for (const candidate of candidates) {
    const prefix = containing(candidate.cidr, upstream);
    if (prefix > bestPrefix) [best, bestPrefix] = [candidate, prefix];
  }
  if (best) return best.address;
  if (isLoopback(upstream)) return family === "IPv4" ? "127.0.0.1" : "::1";
  return candidates.find((i) => !isLoopback(i.address))?.address;
}
