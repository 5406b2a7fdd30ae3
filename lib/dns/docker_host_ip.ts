/**
 * Which address pods use to reach the Docker host's embedded DNS: `host.docker.internal` when it
 * resolves to a non-loopback IPv4 address (Docker Desktop, `--add-host ...:host-gateway`), else
 * the gateway of the default route (the bridge's address on Linux).
 */
import { EntrypointError } from "../errors.ts";
import { type CommandQueries, type FileQueries, type Lookups, readOptional } from "../host/host.ts";
import { isAddress } from "../ip.ts";

/** The name Docker Desktop (or `--add-host`) maps to the host. */
export const DOCKER_HOST_NAME = "host.docker.internal";

/** Bound on the `host.docker.internal` lookup (kind #2793: a slow resolver must not hang a boot). */
export const LOOKUP_TIMEOUT_MS = 5000;

/** True for the loopback test kind's bash applies: `^127\.[0-9]+\.[0-9]+\.[0-9]+$`. */
export function isLoopbackIPv4(address: string): boolean {
  return /^127\.[0-9]+\.[0-9]+\.[0-9]+$/.test(address);
}

/**
 * The gateway from `ip -4 route show default` output: the third space-separated field of its one
 * line, as kind's bash reads it. Throws when that is not one IPv4 address: no default route,
 * several of them, or a route without `via` (the bash would write that word into the rules).
 */
export function gatewayFromRoutes(routes: string): string {
  const lines = routes.split("\n").map((line) => line.trimEnd()).filter((line) => line !== "");
  if (lines.length === 0) throw new Error("there is no IPv4 default route");
  if (lines.length > 1) {
    throw new Error(`there are ${lines.length} IPv4 default routes: ${lines.join("; ")}`);
  }
  const field = lines[0].split(" ")[2] ?? "";
  if (!isAddress(field, 4)) {
    throw new Error(`the default route has no gateway address: ${lines[0]}`);
  }
  return field;
}

/** Where the chosen Docker host IP came from. */
export interface DockerHostIp {
  address: string;
  source: "host.docker.internal" | "default route";
}

/**
 * Picks the Docker host IP from the lookup answer, asking for the routes only when needed.
 * Throws one error naming both sources when neither gives an address.
 */
export async function chooseDockerHostIp(
  lookedUp: string | undefined,
  readRoutes: () => Promise<string>,
): Promise<DockerHostIp> {
  if (lookedUp && !isLoopbackIPv4(lookedUp)) {
    return { address: lookedUp, source: "host.docker.internal" };
  }
  const why = lookedUp
    ? `${DOCKER_HOST_NAME} resolves to the loopback address ${lookedUp}`
    : `${DOCKER_HOST_NAME} has no IPv4 address (looked up for at most ${
      LOOKUP_TIMEOUT_MS / 1000
    } s)`;
  let routes: string;
  try {
    routes = await readRoutes();
    return { address: gatewayFromRoutes(routes), source: "default route" };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new EntrypointError(
      `Cannot find the Docker host IP: ${why}, and ${detail}`,
      { exitCode: error instanceof EntrypointError ? error.exitCode : 1, cause: error },
    );
  }
}

/** Looks up and chooses the Docker host IP on a real host. */
export async function findDockerHostIp(
  host: Lookups & CommandQueries & FileQueries,
): Promise<DockerHostIp> {
  const lookedUp = await host.lookup(DOCKER_HOST_NAME, 4, LOOKUP_TIMEOUT_MS);
  return chooseDockerHostIp(lookedUp, async () => {
    // The common case, one default route through a gateway, is read in-process; anything else
    // is left to `ip` itself, so that its exact output reaches the error message.
    const fromProc = defaultRouteFromProc(readOptional(host, PROC_NET_ROUTE));
    if (fromProc !== undefined) return fromProc;
    const result = await host.query(["ip", "-4", "route", "show", "default"]);
    return result.stdout;
  });
}

/** The kernel's IPv4 routes of the main table, the ones `ip -4 route show` lists by default. */
export const PROC_NET_ROUTE = "/proc/net/route";

const RTF_UP = 0x1;
const RTF_GATEWAY = 0x2;

/**
 * `default via GATEWAY dev IFACE`, the start of what `ip -4 route show default` prints, when
 * /proc/net/route holds exactly one default route and it is an up route through a gateway (the
 * only shape whose third field is an address). Undefined for anything else: no text, no default
 * route, several, or one without a gateway, blackhole or unreachable.
 */
export function defaultRouteFromProc(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const defaults = text.split("\n").slice(1).map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 8 && f[1] === "00000000" && f[7] === "00000000");
  if (defaults.length !== 1) return undefined;
  const [iface, , gatewayHex, flagsHex] = defaults[0];
  const flags = parseInt(flagsHex, 16);
  if (flags !== (RTF_UP | RTF_GATEWAY) || !/^[0-9A-Fa-f]{8}$/.test(gatewayHex)) return undefined;
  // Little-endian: 010012AC is 172.18.0.1.
  const bytes = [6, 4, 2, 0].map((i) => parseInt(gatewayHex.slice(i, i + 2), 16));
  return `default via ${bytes.join(".")} dev ${iface}\n`;
}
