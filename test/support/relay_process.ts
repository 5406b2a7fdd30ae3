/**
 * The relay's bundle (dist/relay.js) run as its own process, as the node's unit runs it, for the
 * tests that measure what it holds: its descriptors, memory, CPU time and sockets, read from
 * /proc/PID.
 */
import { buildQuery } from "../../lib/dns/message.ts";
import { buildBundle, DENO, REPO } from "./bundle.ts";

/** The relay's bundle. */
export const RELAY = `${REPO}dist/relay.js`;
/** Deno's permissions for the relay, as images/kind-dns-relay.service gives them. */
export const RELAY_PERMISSIONS = [
  "--unstable-net",
  "--allow-net",
  "--allow-env",
  "--allow-sys=networkInterfaces",
];

/** A relay process and what it printed first. */
export interface RelayProcess {
  pid: number;
  port: number;
  /** Its first log line. */
  line: string;
  /** Kills it and waits for it. */
  stop(): Promise<void>;
  /** Sends SIGTERM (as systemd stops the unit) and resolves to its exit status. */
  terminate(): Promise<number>;
  /** Whether it is still running. */
  running(): boolean;
}

/**
 * Starts dist/relay.js on ::1 in front of `upstreamPort` on 127.0.0.1; `nofile` caps its
 * descriptors (`ulimit -n`). Resolves once it logged where it listens.
 */
export async function startRelayProcess(
  upstreamPort: number,
  options: { nofile?: number } = {},
): Promise<RelayProcess> {
  buildBundle();
  const deno = [DENO, "run", ...RELAY_PERMISSIONS, "--no-config", RELAY];
  const argv = options.nofile
    ? ["sh", "-c", `ulimit -n ${options.nofile} && exec "$@"`, "sh", ...deno]
    : deno;
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: {
      KIND_DNS_RELAY_LISTEN: "::1",
      KIND_DNS_RELAY_PORT: "0",
      KIND_DNS_RELAY_UPSTREAM: "127.0.0.1",
      KIND_DNS_RELAY_UPSTREAM_PORT: String(upstreamPort),
      DENO_NO_UPDATE_CHECK: "1",
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  // Keep draining, so the relay never blocks on a full pipe.
  void (async () => {
    while (!(await reader.read()).done);
  })().catch(() => {});
  const line = text.split("\n")[0];
  const port = Number(/\]:(\d+) /.exec(line)?.[1]);
  return {
    pid: child.pid,
    port,
    line,
    running: () => !exited,
    async terminate() {
      child.kill("SIGTERM");
      return (await status).code;
    },
    async stop() {
      if (!exited) child.kill("SIGKILL");
      await status;
    },
  };
}

/**
 * The process's anonymous resident memory (RssAnon: heaps, buffers), in MB. The rest of VmRSS is
 * Deno's own code, file-backed and shared, which grows as new code paths first run.
 */
export function anonMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^RssAnon:\s+(\d+)/m.exec(status)?.[1]) / 1024;
}

/** How many descriptors the process has open. */
export function descriptors(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

/** The CPU time the process has used (user and system), in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 a second on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * The local addresses of the process's sockets, as /proc/net writes them (hex `ADDRESS:PORT`),
 * by table: `udp`, `udp6`, `tcp`, `tcp6`.
 */
export function socketAddresses(pid: number): { table: string; local: string }[] {
  const inodes = new Set<string>();
  for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      const target = Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`);
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode) inodes.add(inode);
    } catch {
      // Closed meanwhile.
    }
  }
  const found: { table: string; local: string }[] = [];
  for (const table of ["udp", "udp6", "tcp", "tcp6"]) {
    const lines = Deno.readTextFileSync(`/proc/${pid}/net/${table}`).split("\n").slice(1);
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 9 && inodes.has(fields[9])) found.push({ table, local: fields[1] });
    }
  }
  return found;
}

/**
 * Connections waiting in the accept queue of the process's TCP socket listening on `port`
 * (/proc/net/tcp6's rx_queue of a listening socket).
 */
export function acceptBacklog(pid: number, port: number): number {
  const local = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of Deno.readTextFileSync(`/proc/${pid}/net/tcp6`).split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1]?.endsWith(local) && fields[3] === "0A") {
      return parseInt(fields[4].split(":")[1], 16);
    }
  }
  return 0;
}

/** Waits until `check` holds, polling every 20 ms; throws naming `what` after `ms`. */
export async function waitFor(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Sends one A query for `kind-worker` with `id` to the relay on ::1 over UDP and resolves to the
 * first reply; like a stub resolver, it sends the query again every `retryMs` until one comes.
 */
export async function askOverUdp(port: number, id: number, retryMs = 250): Promise<Uint8Array> {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const to: Deno.NetAddr = { transport: "udp", hostname: "::1", port };
  const query = buildQuery("kind-worker", id);
  const again = setInterval(() => void socket.send(query, to).catch(() => {}), retryMs);
  try {
    await socket.send(query, to);
    return (await socket.receive())[0];
  } finally {
    clearInterval(again);
    socket.close();
  }
}
