/**
 * Strict parsers for the text forms of IP addresses. An address read from a file the entrypoint
 * does not control (/kind/old-ipv4, /kind/old-ipv6) is later matched as a whole word in the
 * kubeadm manifests and kubeconfigs, so anything that is not exactly an address must be refused:
 * a loose check would let `host:port` or `image:tag` text through.
 */

/**
 * The four octets of a dotted-quad IPv4 address (decimal, 0–255, no leading zeros: inet_aton
 * would read `010` as octal, and getaddrinfo never prints one), or undefined.
 */
export function parseIPv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    octets.push(value);
  }
  return octets;
}

/**
 * The eight 16-bit groups of an IPv6 address in one of RFC 4291's text forms (section 2.2):
 * `x:x:x:x:x:x:x:x` with 1–4 hex digits per group, one `::` standing for one or more zero
 * groups, and a dotted-quad IPv4 address as the last 32 bits. No zone (`%eth0`): only a
 * link-local address has one, and a node's address for its hostname is never link-local. This
 * is what glibc's inet_pton(AF_INET6) accepts.
 */
export function parseIPv6(text: string): number[] | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  // The dotted quad may only end the address.
  const head = groups(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1], true) : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  // `::` stands for at least one group.
  if (head.length + tail.length > 7) return undefined;
  return [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
}

/** The groups of one side of `::` (empty text: none); a last dotted quad counts as two groups. */
function groups(text: string, quadAllowed: boolean): number[] | undefined {
  if (text === "") return [];
  const parts = text.split(":");
  const values: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (quadAllowed && i === parts.length - 1 && part.includes(".")) {
      const octets = parseIPv4(part);
      if (octets === undefined) return undefined;
      values.push((octets[0] << 8) | octets[1], (octets[2] << 8) | octets[3]);
    } else if (/^[0-9A-Fa-f]{1,4}$/.test(part)) {
      values.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return values;
}

/** True for exactly one address of `family` in text form. */
export function isAddress(text: string, family: 4 | 6): boolean {
  return (family === 4 ? parseIPv4(text) : parseIPv6(text)) !== undefined;
}
