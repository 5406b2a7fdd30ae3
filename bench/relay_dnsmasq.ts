/**
 * The relay beside dnsmasq, the forwarder a user would pick instead (bench/relay.ts): both on ::1
 * in front of the same upstream, loaded in turn by dnsperf. dnsmasq runs with `--cache-size=0`,
 * so both only forward.
 */

/** How many rounds each forwarder is loaded, interleaved. */
export const ROUNDS = 3;
/** Seconds of one round. */
export const ROUND_SECONDS = 3;
/** Queries dnsperf keeps outstanding. */
export const OUTSTANDING = 64;

/** One forwarder's figures: the median round's answers/s, percentiles of all rounds' queries. */
export interface ForwarderFigures {
  perSecond: number;
  p50: number;
  p99: number;
  rssMb: number;
  /** Per round, in order. */
  roundsPerSecond: number[];
}

/** What `compareWithDnsmasq` measured. */
export interface DnsmasqComparison {
  tools: { dnsmasq: string; dnsperf: string };
  outstanding: number;
  rounds: number;
  seconds: number;
  relay: ForwarderFigures & { anonMb: number; fileMb: number };
  dnsmasq: ForwarderFigures;
}

/** One dnsperf run's answers per second and per-query latencies (ms), from its `-v` output. */
export function parseDnsperf(output: string): { perSecond: number; latencies: number[] } {
  const perSecond = Number(/Queries per second:\s+([\d.]+)/.exec(output)?.[1]);
  if (!Number.isFinite(perSecond)) throw new Error("dnsperf printed no 'Queries per second' line");
  const latencies = [...output.matchAll(/^> \S+ .* ([\d.]+)$/gm)].map((m) => Number(m[1]) * 1000);
  return { perSecond, latencies };
}

/** The value at fraction `p` of a sorted list. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

function installed(program: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${program}`] }).outputSync().success;
}

function firstLine(argv: string[]): string {
  const out = new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped" })
    .outputSync();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return text.split("\n").find((line) => /version/i.test(line))?.trim() ?? "unknown";
}

function freePort(): number {
  const probe = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}

async function dnsperf(port: number, queryFile: string) {
  const out = await new Deno.Command("dnsperf", {
    args: [
      ...["-s", "::1", "-p", String(port), "-d", queryFile, "-l", String(ROUND_SECONDS)],
      ...["-q", String(OUTSTANDING), "-c", "4", "-v"],
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return parseDnsperf(new TextDecoder().decode(out.stdout));
}

/**
 * Starts dnsmasq beside the running relay, loads both in turn and returns their figures; undefined
 * when dnsmasq or dnsperf is not installed.
 */
export async function compareWithDnsmasq(options: {
  relayPort: number;
  relayPid: number;
  upstreamPort: number;
  pin: string[];
  status: (pid: number) => { rssKb: number; anonKb: number; fileKb: number };
}): Promise<DnsmasqComparison | undefined> {
  if (!installed("dnsmasq") || !installed("dnsperf")) return undefined;
  const port = freePort();
  const dnsmasq = new Deno.Command(options.pin[0] ?? "dnsmasq", {
    args: [
      ...options.pin.slice(1),
      ...(options.pin.length > 0 ? ["dnsmasq"] : []),
      ...["--keep-in-foreground", "--no-resolv", "--no-hosts", "--cache-size=0"],
      ...["--bind-interfaces", "--listen-address=::1", `--port=${port}`, "--pid-file="],
      `--server=127.0.0.1#${options.upstreamPort}`,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const queryFile = Deno.makeTempFileSync({ suffix: ".txt" });
  try {
    Deno.writeTextFileSync(queryFile, "kind-worker A\n");
    await new Promise((resolve) => setTimeout(resolve, 300));
    type Run = { perSecond: number; latencies: number[] };
    const runs: { relay: Run[]; dnsmasq: Run[] } = { relay: [], dnsmasq: [] };
    for (let i = 0; i < ROUNDS; i++) {
      runs.relay.push(await dnsperf(options.relayPort, queryFile));
      runs.dnsmasq.push(await dnsperf(port, queryFile));
    }
    const figures = (list: Run[], pid: number): ForwarderFigures => {
      const latencies = list.flatMap((run) => run.latencies).sort((a, b) => a - b);
      return {
        perSecond: Math.round(median(list.map((run) => run.perSecond))),
        p50: round3(percentile(latencies, 0.5)),
        p99: round3(percentile(latencies, 0.99)),
        rssMb: round3(options.status(pid).rssKb / 1024),
        roundsPerSecond: list.map((run) => Math.round(run.perSecond)),
      };
    };
    const relayStatus = options.status(options.relayPid);
    return {
      tools: {
        dnsmasq: firstLine(["dnsmasq", "--version"]),
        dnsperf: firstLine(["dnsperf", "-h"]),
      },
      outstanding: OUTSTANDING,
      rounds: ROUNDS,
      seconds: ROUND_SECONDS,
      relay: {
        ...figures(runs.relay, options.relayPid),
        anonMb: round3(relayStatus.anonKb / 1024),
        fileMb: round3(relayStatus.fileKb / 1024),
      },
      dnsmasq: figures(runs.dnsmasq, dnsmasq.pid),
    };
  } finally {
    dnsmasq.kill("SIGKILL");
    await dnsmasq.status;
    Deno.removeSync(queryFile);
  }
}
