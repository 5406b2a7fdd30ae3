/**
 * kind-dns-relay: the DNS relay a node of a cluster with IPv6 runs (lib/dns/relay/server.ts), started
 * by systemd (images/kind-dns-relay.service) with the settings the entrypoint wrote
 * (lib/dns/relay/node.ts). Run it as
 * `deno run --unstable-net --allow-net --allow-env --allow-sys=networkInterfaces relay.js`; without
 * the last permission it cannot see the node's addresses and sends upstream from the wildcard
 * address (with a WARN line). A setting it cannot use ends it with status 2, a socket it cannot
 * open with status 1; systemd starts it again either way.
 */
import { formatLogLine } from "./lib/log.ts";
import { parseRelayEnv } from "./lib/dns/relay/config.ts";
import { startRelay } from "./lib/dns/relay/server.ts";
import { type InterfaceAddress, sourceAddress } from "./lib/dns/relay/source.ts";

const log = (level: "INFO" | "WARN" | "ERROR", text: string) =>
  Deno.stderr.writeSync(new TextEncoder().encode(formatLogLine(level, text)));
const bracket = (address: string) => address.includes(":") ? `[${address}]` : address;

const config = parseRelayEnv((name) => Deno.env.get(name));
if (!config.ok) {
  log("ERROR", config.reason);
  Deno.exit(2);
}
const { listen, upstream } = config.options;
let interfaces: InterfaceAddress[] = [];
try {
  interfaces = Deno.networkInterfaces();
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  log("WARN", `cannot list the node's addresses (${reason}): sending upstream from any address`);
}
const source = sourceAddress(upstream, interfaces);
let relay;
try {
  relay = startRelay({ ...config.options, source });
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  log(
    "ERROR",
    `cannot listen for DNS on ${bracket(listen)}:${config.options.port ?? 53}: ${reason}`,
  );
  Deno.exit(1);
}
// systemd stops the unit with SIGTERM: close the sockets first. Registered at the start also
// because Deno opens its signal pipe with the first listener, which fails (and Deno panics)
// once a flood of connections has taken every descriptor.
const stopping = relay;
Deno.addSignalListener("SIGTERM", () => {
  void stopping.close().finally(() => Deno.exit(0));
});
log(
  "INFO",
  `relaying DNS on ${bracket(listen)}:${relay.port} (UDP and TCP) to ${bracket(upstream)}:${
    config.options.upstreamPort ?? 53
  }${source ? `, from ${source}` : ""}`,
);
