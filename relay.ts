/**
 * kind-dns-relay: the DNS relay a node of a cluster with IPv6 runs (lib/dns/relay/server.ts), started
 * by systemd (images/kind-dns-relay.service) with the settings the entrypoint wrote
 * (lib/dns/relay/node.ts). Run it as `deno run --unstable-net --allow-net --allow-env relay.js`.
 * A setting it cannot use ends it with status 2, a socket it cannot open with status 1; systemd
 * starts it again either way.
 */
import { formatLogLine } from "./lib/log.ts";
import { parseRelayEnv } from "./lib/dns/relay/config.ts";
import { startRelay } from "./lib/dns/relay/server.ts";

const config = parseRelayEnv((name) => Deno.env.get(name));
if (!config.ok) {
  Deno.stderr.writeSync(new TextEncoder().encode(formatLogLine("ERROR", config.reason)));
  Deno.exit(2);
}
const { listen, upstream } = config.options;
const at = listen.includes(":") ? `[${listen}]` : listen;
const to = upstream.includes(":") ? `[${upstream}]` : upstream;
let relay;
try {
  relay = startRelay(config.options);
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  Deno.stderr.writeSync(
    new TextEncoder().encode(
      formatLogLine(
        "ERROR",
        `cannot listen for DNS on ${at}:${config.options.port ?? 53}: ${reason}`,
      ),
    ),
  );
  Deno.exit(1);
}
Deno.stderr.writeSync(
  new TextEncoder().encode(
    formatLogLine(
      "INFO",
      `relaying DNS on ${at}:${relay.port} (UDP and TCP) to ${to}:${
        config.options.upstreamPort ?? 53
      }`,
    ),
  ),
);
