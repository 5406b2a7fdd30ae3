/**
 * The relay's settings: what the node's unit passes it (an environment file the entrypoint
 * writes, see lib/dns/relay/node.ts). Pure: text in, values out.
 */
import { isAddress } from "../../ip.ts";
import type { RelayOptions } from "./server.ts";

/** Environment variables the relay reads. */
export const RELAY_ENV = {
  /** The address to listen on: the node's own IPv6 address. */
  listen: "KIND_DNS_RELAY_LISTEN",
  /** The nameserver to forward to: the one the node itself uses. */
  upstream: "KIND_DNS_RELAY_UPSTREAM",
  /** Optional: milliseconds the upstream may take (see DEFAULT_UPSTREAM_TIMEOUT_MS). */
  timeoutMs: "KIND_DNS_RELAY_TIMEOUT_MS",
  /** Optional: the port to listen on (53 unless set; for tests and the benchmark). */
  port: "KIND_DNS_RELAY_PORT",
  /** Optional: the upstream's port (53 unless set; for tests and the benchmark). */
  upstreamPort: "KIND_DNS_RELAY_UPSTREAM_PORT",
} as const;

/** The relay's options read from `env`, or why they cannot be. */
export function parseRelayEnv(
  env: (name: string) => string | undefined,
): { ok: true; options: RelayOptions } | { ok: false; reason: string } {
  const listen = env(RELAY_ENV.listen)?.trim();
  const upstream = env(RELAY_ENV.upstream)?.trim();
  if (!listen) return { ok: false, reason: `${RELAY_ENV.listen} is not set` };
  if (!upstream) return { ok: false, reason: `${RELAY_ENV.upstream} is not set` };
  if (!isAddressLiteral(listen)) {
    return { ok: false, reason: `${RELAY_ENV.listen}=${listen} is not an IP address` };
  }
  if (!isAddressLiteral(upstream)) {
    return { ok: false, reason: `${RELAY_ENV.upstream}=${upstream} is not an IP address` };
  }
  const options: RelayOptions = { listen, upstream };
  const numbers = [
    ["timeoutMs", RELAY_ENV.timeoutMs, 1, 60_000],
    ["port", RELAY_ENV.port, 0, 65535],
    ["upstreamPort", RELAY_ENV.upstreamPort, 1, 65535],
  ] as const;
  for (const [key, name, min, max] of numbers) {
    const text = env(name)?.trim();
    if (!text) continue;
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) {
      return { ok: false, reason: `${name}=${text} is not a whole number from ${min} to ${max}` };
    }
    options[key] = value;
  }
  return { ok: true, options };
}

/** Whether `text` is an IPv4 or IPv6 address literal (the forms resolv.conf and getent use). */
function isAddressLiteral(text: string): boolean {
  return isAddress(text, 4) || isAddress(text, 6);
}
