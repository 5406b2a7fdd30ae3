/**
 * Turns the raw files of bench/run.sh into the benchmark report: each pair, the medians, the
 * closing `boot:` line, the per-step breakdown of both implementations, the programs each one
 * executed, whether their mount tables agree, the empty-steps floor beside an empty Deno program,
 * the span of a cluster's nodes started at once, what enabling the DNS relay adds to the boot of
 * a node of a cluster with IPv6, and the targets met or missed. Writes the same as JSON.
 *
 * Usage: deno run -A bench/report.ts --raw DIR --views "v1 v2" --n N --trace-n N --out FILE
 *          --bundle FILE --image TAG [--original-image TAG] [--scale FILE] [--docs FILE]
 *          [--floor-n N --cluster-nodes N --cluster-rounds N --ipv6-n N]
 *        deno run -A bench/report.ts --from JSON --scale FILE --docs FILE
 * The raw files of each node view are in DIR/VIEW; the report ends with one closing line per view.
 * --docs rewrites the generated block of that markdown file (docs/speed.md) from the results
 * written (or, with --from, from those already there) and the scale results.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { docsBlock, replaceDocsBlock } from "./docs_block.ts";

/** One boot: entrypoint start to the command's first instruction, in ms. */
export function bootMillis(log: string): number | undefined {
  const match = /^BENCH t1=(\d+)\.(\d{6}) t0=(\d+)$/m.exec(log);
  if (!match) return undefined;
  const t1Micros = BigInt(match[1]) * 1_000_000n + BigInt(match[2]);
  const t0Nanos = BigInt(match[3]);
  return Number(t1Micros * 1000n - t0Nanos) / 1e6;
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** What an `strace -f -e trace=execve` log shows. */
export interface ProgramCount {
  /** Successful execve calls before the last one of the first process (the command's exec). */
  programs: number;
  /** By program (basename of the executed path), most frequent first. */
  byName: Record<string, number>;
  /** Processes other than the first one (fork/clone children that show up in the log). */
  childProcesses: number;
  /** The command exec'd at the end, as seen (for checking what was left out). */
  command: string | undefined;
}

/**
 * Counts programs executed in an strace log (`PID execve("PATH", ...) = 0`, including calls
 * split into `<unfinished ...>` and `<... execve resumed>` by other processes' lines).
 */
export function countPrograms(strace: string): ProgramCount {
  const pending = new Map<number, string>();
  const execs: { pid: number; file: string }[] = [];
  const pids = new Set<number>();
  for (const line of strace.split("\n")) {
    const head = /^(\d+)\s+(.*)$/.exec(line);
    if (!head) continue;
    const pid = Number(head[1]);
    const rest = head[2];
    pids.add(pid);
    const call = /^execve\("((?:[^"\\]|\\.)*)"/.exec(rest);
    if (call) {
      if (/<unfinished \.\.\.>$/.test(rest)) pending.set(pid, call[1]);
      else if (/\)\s*= 0$/.test(rest)) execs.push({ pid, file: call[1] });
      continue;
    }
    if (/^<\.\.\. execve resumed>.*\)\s*= 0$/.test(rest)) {
      const file = pending.get(pid);
      if (file !== undefined) execs.push({ pid, file });
    }
    if (/^<\.\.\. execve resumed>/.test(rest)) pending.delete(pid);
  }
  const firstPid = execs[0]?.pid;
  let commandIndex = -1;
  execs.forEach((e, i) => {
    if (e.pid === firstPid) commandIndex = i;
  });
  // The command and whatever it runs come last; the entrypoint's own work is all before it.
  const counted = commandIndex > 0 ? execs.slice(0, commandIndex) : execs;
  const byName: Record<string, number> = {};
  for (const e of counted) {
    const name = path.posix.basename(e.file);
    byName[name] = (byName[name] ?? 0) + 1;
  }
  const sorted = Object.fromEntries(
    Object.entries(byName).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
  );
  return {
    programs: counted.length,
    byName: sorted,
    childProcesses: Math.max(0, pids.size - 1),
    command: commandIndex > 0 ? execs[commandIndex].file : undefined,
  };
}

/** Step durations of one traced run, with start-up and exec tail measured from the bench stamps. */
export interface StepTrace {
  /** Shim's t0 to the first step (the port: to main; the original: to its first trace line). */
  startupMs?: number;
  steps: Record<string, number>;
  /** Last step's end (`exec`) to the command's t1. */
  tailMs?: number;
  /** The port's `setup took`: main to the first step (cache mount, switches, detection, prefetch). */
  setupMs?: number;
  /** The port's `finish took`: the last step's end to the exec stamp. */
  finishMs?: number;
  vmHwmKb?: number;
  /** The port's `import took`: runtime time origin to main. */
  importMs?: number;
}

/**
 * A cluster's start: from the first node's start stamp to the last node's exec stamp, in ms;
 * undefined unless every node's log has its stamps.
 */
export function clusterSpanMillis(logs: readonly string[]): number | undefined {
  const stamps = logs.map(benchStamps);
  if (stamps.length === 0 || stamps.some((s) => s === undefined)) return undefined;
  const t0 = Math.min(...stamps.map((s) => s!.t0));
  const t1 = Math.max(...stamps.map((s) => s!.t1));
  return round(t1 - t0);
}

/**
 * The targets the port is held to, per node view: the closing `targets:` line checks them. Peak
 * RSS has none (an empty Deno program, libc's binding and one `Deno.Command` already take most
 * of it); the closing `boot` line still prints it.
 */
export const TARGETS = {
  /** Port/original median ratio of start -> exec, at most. */
  ratio: { v1: 0.6, v2: 0.9 } as Record<string, number>,
  /** Programs executed before the command, at most. */
  programs: 6,
};

/** `targets (VIEW): ...` for the measured values; "n/a" where a value is missing. */
export function targetLine(
  view: string,
  measured: { ratio?: number; programs?: number },
): string {
  const check = (what: string, value: number | undefined, limit: number | undefined) => {
    if (limit === undefined) return [];
    if (value === undefined) return [`${what} n/a (target <= ${limit})`];
    return [`${what} ${value} <= ${limit} ${value <= limit ? "met" : "MISSED"}`];
  };
  return `targets (${VIEW_NAMES[view] ?? view}): ${
    [
      ...check("ratio", measured.ratio, TARGETS.ratio[view]),
      ...check("programs", measured.programs, TARGETS.programs),
    ].join("; ")
  }`;
}

/** The bench stamps of a log: t0 in ms and t1 in ms, both since the epoch. */
function benchStamps(log: string): { t0: number; t1: number } | undefined {
  const m = /^BENCH t1=(\d+\.\d{6}) t0=(\d+)$/m.exec(log);
  return m ? { t1: Number(m[1]) * 1000, t0: Number(BigInt(m[2]) / 1000n) / 1000 } : undefined;
}

/** Reads the `TRACE:` lines the port prints with KIND_ENTRYPOINT_TRACE=1. */
export function parseStepTrace(log: string): StepTrace {
  const trace: StepTrace = { steps: {} };
  let mainAt: number | undefined;
  let execAt: number | undefined;
  for (const line of log.split("\n")) {
    let m = /^TRACE: step (\S+) took ([\d.]+) ms$/.exec(line);
    if (m) trace.steps[m[1]] = Number(m[2]);
    m = /^TRACE: main at ([\d.]+)$/.exec(line);
    if (m) mainAt = Number(m[1]) * 1000;
    m = /^TRACE: exec at ([\d.]+)$/.exec(line);
    if (m) execAt = Number(m[1]) * 1000;
    m = /^TRACE: import took ([\d.]+) ms/.exec(line);
    if (m) trace.importMs = Number(m[1]);
    m = /^TRACE: setup took ([\d.]+) ms/.exec(line);
    if (m) trace.setupMs = Number(m[1]);
    m = /^TRACE: finish took ([\d.]+) ms/.exec(line);
    if (m) trace.finishMs = Number(m[1]);
    m = /^TRACE: VmHWM (\d+) kB$/.exec(line);
    if (m) trace.vmHwmKb = Number(m[1]);
  }
  const stamps = benchStamps(log);
  if (stamps && mainAt !== undefined) trace.startupMs = round(mainAt - stamps.t0);
  if (stamps && execAt !== undefined) trace.tailMs = round(stamps.t1 - execAt);
  return trace;
}

/** kind's functions and the port's step names. */
const ORIGINAL_STEPS: Record<string, string> = {
  validate_userns: "userns",
  configure_containerd: "containerd",
  configure_proxy: "proxy",
  fix_mount: "mount",
  fix_cgroup: "cgroup",
  fix_machine_id: "machine_id",
  fix_product_name: "product_name",
  fix_product_uuid: "product_uuid",
  select_iptables: "iptables",
  enable_network_magic: "network_magic",
};

/**
 * Step durations of the original from its xtrace with PS4='+ $EPOCHREALTIME ': the trace line
 * that calls one of kind's functions by name starts its step, and the call of the next one (or
 * the final `log_info 'starting init'`) ends it. (xtrace's `+` counts nesting of evaluation, not
 * of function calls, so the calls are found by name: none of kind's step functions calls another.)
 * `startupMs` runs from the shim's t0 to the first trace line (two bash start-ups here: the
 * tracing wrapper's and the script's); `tailMs` from the `exec` line to the command's t1.
 */
export function parseOriginalTrace(log: string): StepTrace {
  const lines: { t: number; text: string }[] = [];
  for (const line of log.split("\n")) {
    const m = /^\++ (\d+\.\d{6}) (.*)$/.exec(line);
    if (m) lines.push({ t: Number(m[1]) * 1000, text: m[2].trim() });
  }
  const boundaries = lines.filter((entry) =>
    entry.text in ORIGINAL_STEPS || entry.text === "log_info 'starting init'"
  );
  const steps: Record<string, number> = {};
  boundaries.forEach((entry, i) => {
    const name = ORIGINAL_STEPS[entry.text];
    if (name && i + 1 < boundaries.length) steps[name] = round(boundaries[i + 1].t - entry.t);
  });
  const stamps = benchStamps(log);
  const exec = lines.findLast((entry) => entry.text.startsWith("exec "));
  return {
    steps,
    startupMs: stamps && lines.length > 0 ? round(lines[0].t - stamps.t0) : undefined,
    tailMs: stamps && exec ? round(stamps.t1 - exec.t) : undefined,
  };
}

function round(ms: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(ms * f) / f;
}

/**
 * A mountinfo table with what differs between any two containers replaced: mount and parent ids
 * (the parent is named by its mount point), device numbers, peer group numbers, container and
 * volume ids, and the root overlay's layer list.
 */
export function normalizeMountInfo(text: string): string[] {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const byId = new Map<string, string>();
  for (const line of lines) {
    const f = line.split(" ");
    byId.set(f[0], f[4]);
  }
  return lines.map((line) => {
    const [, parentId, , root, mountPoint, options, ...rest] = line.split(" ");
    const sep = rest.indexOf("-");
    const optional = rest.slice(0, sep).map((o) => o.replace(/:\d+$/, "")).join(",");
    const [fsType, source, superOptions] = rest.slice(sep + 1);
    // Two images have different layers: an overlay's layer list says nothing about the entrypoint.
    const superText = fsType === "overlay" ? "<layers>" : superOptions;
    return [
      mountPoint,
      `parent=${byId.get(parentId) ?? "?"}`,
      `root=${root}`,
      options,
      optional || "private",
      fsType,
      source,
      superText,
    ].join(" ").replace(/[0-9a-f]{64}/g, "<id>");
  });
}

/** Lines only in `a` (-) and only in `b` (+), as multisets. */
export function mountDiff(a: readonly string[], b: readonly string[]): string[] {
  const count = new Map<string, number>();
  for (const line of a) count.set(line, (count.get(line) ?? 0) + 1);
  const added: string[] = [];
  for (const line of b) {
    const n = count.get(line) ?? 0;
    if (n > 0) count.set(line, n - 1);
    else added.push(`+ ${line}`);
  }
  const removed = [...count].flatMap(([line, n]) => Array(n).fill(`- ${line}`));
  return [...removed, ...added];
}

function readIf(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function medianSteps(
  traces: StepTrace[],
): {
  startupMs?: number;
  setupMs?: number;
  steps: Record<string, number>;
  finishMs?: number;
  tailMs?: number;
} {
  const names = [...new Set(traces.flatMap((t) => Object.keys(t.steps)))];
  const steps = Object.fromEntries(
    names.map((n) => [n, round(median(traces.flatMap((t) => t.steps[n] ?? [])))]),
  );
  const mid = (xs: number[]) => xs.length ? round(median(xs)) : undefined;
  return {
    startupMs: mid(traces.flatMap((t) => t.startupMs ?? [])),
    setupMs: mid(traces.flatMap((t) => t.setupMs ?? [])),
    steps,
    finishMs: mid(traces.flatMap((t) => t.finishMs ?? [])),
    tailMs: mid(traces.flatMap((t) => t.tailMs ?? [])),
  };
}

function machineFacts() {
  const cpus = os.cpus();
  let docker = "";
  try {
    docker = new TextDecoder().decode(
      new Deno.Command("docker", { args: ["version", "-f", "{{.Server.Version}}"] }).outputSync()
        .stdout,
    ).trim();
  } catch { /* not fatal */ }
  return {
    kernel: os.release(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "",
    memoryMb: Math.round(os.totalmem() / 2 ** 20),
    loadAverage: os.loadavg().map((l) => round(l, 2)),
    docker,
    deno: Deno.version.deno,
  };
}

/** What the report needs besides the raw files of one view. */
interface ViewOptions {
  raw: string;
  n: number;
  traceN: number;
  withOriginal: boolean;
  bundle?: string;
  floorN: number;
  clusterNodes: number;
  clusterRounds: number;
  ipv6N: number;
}

/** The node views bench/run.sh knows, as the closing lines name them. */
const VIEW_NAMES: Record<string, string> = { v1: "cgroup v1", v2: "cgroup v2 view" };

/** Prints the report of one node view and returns its results and closing line. */
function reportView(view: string, options: ViewOptions) {
  const { raw, n, traceN, withOriginal } = options;
  const log = (name: string) => readIf(path.join(raw, `${name}.log`)) ?? "";
  const pairs: { original?: number; port?: number }[] = [];
  for (let i = 1; i <= n; i++) {
    pairs.push({
      original: withOriginal ? bootMillis(log(`kets-bench-original-${i}`)) : undefined,
      port: bootMillis(log(`kets-bench-port-${i}`)),
    });
  }
  const out = (line: string) => console.log(line);
  out(
    `${"pair".padStart(4)}  ${withOriginal ? "original ms".padStart(12) : ""}  ${
      "port ms".padStart(9)
    }${withOriginal ? "   ratio" : ""}`,
  );
  pairs.forEach((p, i) => {
    const o = p.original === undefined ? "-" : p.original.toFixed(1);
    const q = p.port === undefined ? "-" : p.port.toFixed(1);
    const r = p.original && p.port ? (p.port / p.original).toFixed(2) : "-";
    out(
      `${String(i + 1).padStart(4)}  ${withOriginal ? o.padStart(12) : ""}  ${q.padStart(9)}${
        withOriginal ? r.padStart(8) : ""
      }`,
    );
  });
  const portTimes = pairs.flatMap((p) => p.port ?? []);
  const origTimes = pairs.flatMap((p) => p.original ?? []);
  const complete = pairs.filter((p) => p.port !== undefined && (!withOriginal || p.original));
  if (portTimes.length === 0) throw new Error("no port run produced a BENCH line");
  const portMedian = round(median(portTimes));
  const origMedian = origTimes.length ? round(median(origTimes)) : undefined;
  const stats = (xs: number[]) => ({
    median: round(median(xs)),
    min: round(Math.min(...xs)),
    max: round(Math.max(...xs)),
  });
  out(
    `medians: port ${portMedian} ms${
      origMedian !== undefined ? `, original ${origMedian} ms` : ""
    }`,
  );

  const strace = (impl: string) => {
    const text = readIf(path.join(raw, `kets-bench-${impl}-strace.strace`));
    return text ? countPrograms(text) : undefined;
  };
  const portPrograms = strace("port");
  const origPrograms = withOriginal ? strace("original") : undefined;
  const describe = (c: ProgramCount | undefined) =>
    c === undefined ? "n/a" : Object.entries(c.byName).map(([k, v]) => `${v} ${k}`).join(", ");
  out(`programs (port): ${portPrograms?.programs ?? "n/a"}: ${describe(portPrograms)}`);
  if (withOriginal) {
    out(`programs (original): ${origPrograms?.programs ?? "n/a"}: ${describe(origPrograms)}`);
  }

  const portTraces: StepTrace[] = [];
  const origTraces: StepTrace[] = [];
  for (let i = 1; i <= traceN; i++) {
    portTraces.push(parseStepTrace(log(`kets-bench-port-trace-${i}`)));
    if (withOriginal) origTraces.push(parseOriginalTrace(log(`kets-bench-original-trace-${i}`)));
  }
  const portBreakdown = medianSteps(portTraces);
  const origBreakdown = withOriginal ? medianSteps(origTraces) : undefined;
  const hwm = portTraces.flatMap((t) => t.vmHwmKb ?? []);
  const vmHwmKb = hwm.length ? median(hwm) : undefined;
  // Import time with the image's warm code cache, and with it hidden (bench/run.sh's nocache runs).
  const importMedian = (traces: StepTrace[]) => {
    const xs = traces.flatMap((t) => t.importMs ?? []);
    return xs.length ? round(median(xs)) : undefined;
  };
  const noCache = Array.from(
    { length: traceN },
    (_, i) => parseStepTrace(log(`kets-bench-port-nocache-${i + 1}`)),
  );
  const importMs = { cache: importMedian(portTraces), noCache: importMedian(noCache) };
  out("breakdown (median ms of traced runs; the original's under bash -x):");
  const stepNames = [
    ...new Set([...Object.keys(origBreakdown?.steps ?? {}), ...Object.keys(portBreakdown.steps)]),
  ];
  out(`  ${"step".padEnd(14)} ${withOriginal ? "original".padStart(9) : ""} ${"port".padStart(7)}`);
  const phases: Record<string, keyof ReturnType<typeof medianSteps>> = {
    startup: "startupMs",
    setup: "setupMs",
    finish: "finishMs",
    "exec tail": "tailMs",
  };
  const pick = (b: ReturnType<typeof medianSteps> | undefined, name: string) =>
    name in phases ? b?.[phases[name]] as number | undefined : b?.steps[name];
  for (const name of ["startup", "setup", ...stepNames, "finish", "exec tail"]) {
    const o = pick(origBreakdown, name);
    const p = pick(portBreakdown, name);
    out(
      `  ${name.padEnd(14)} ${withOriginal ? String(o ?? "-").padStart(9) : ""} ${
        String(p ?? "-").padStart(7)
      }`,
    );
  }
  const bundleBytes = options.bundle ? fs.statSync(options.bundle).size : undefined;
  out(`port: bundle ${bundleBytes} bytes, peak RSS (VmHWM before exec) ${vmHwmKb ?? "n/a"} kB`);
  out(
    `port: import (runtime time origin to main) ${
      importMs.cache ?? "n/a"
    } ms with Deno's code cache, ${importMs.noCache ?? "n/a"} ms with it hidden`,
  );

  // The floor: the port with no steps, beside an empty Deno program started the same way.
  const floorTimes = (kind: string) =>
    Array.from(
      { length: options.floorN },
      (_, i) => bootMillis(log(`kets-bench-floor-${kind}-${i + 1}`)),
    )
      .flatMap((ms) => ms ?? []);
  const floorPort = floorTimes("port");
  const floorEmpty = floorTimes("empty");
  const floor = {
    port: floorPort.length ? round(median(floorPort)) : undefined,
    emptyDeno: floorEmpty.length ? round(median(floorEmpty)) : undefined,
    runs: options.floorN,
  };
  out(
    `floor (start -> exec of the command, median of ${options.floorN}): the port with KIND_ENTRYPOINT_STEPS=none ${
      floor.port ?? "n/a"
    } ms, an empty Deno program ${floor.emptyDeno ?? "n/a"} ms`,
  );

  // A cluster's start: nodes started at once, first start -> last exec.
  const spans = (impl: string) =>
    Array.from({ length: options.clusterRounds }, (_, r) =>
      clusterSpanMillis(
        Array.from(
          { length: options.clusterNodes },
          (_, k) => log(`kets-bench-cluster-${impl}-${r + 1}-${k + 1}`),
        ),
      )).flatMap((ms) => ms ?? []);
  const clusterPort = spans("port");
  const clusterOrig = withOriginal ? spans("original") : [];
  const cluster = {
    nodes: options.clusterNodes,
    rounds: options.clusterRounds,
    port: clusterPort.length ? round(median(clusterPort)) : undefined,
    original: clusterOrig.length ? round(median(clusterOrig)) : undefined,
    ratio: undefined as number | undefined,
  };
  if (cluster.port !== undefined && cluster.original) {
    cluster.ratio = round(cluster.port / cluster.original, 2);
  }
  out(
    `cluster (${options.clusterNodes} nodes started at once, first start -> last exec, median of ${options.clusterRounds}): port ${
      cluster.port ?? "n/a"
    } ms${
      withOriginal
        ? `, original ${cluster.original ?? "n/a"} ms, ratio ${cluster.ratio ?? "n/a"}`
        : ""
    }`,
  );

  // The DNS relay: nodes on a dual-stack network with kind's IPv6 flags (relay enabled) and
  // without (no relay), interleaved pairs.
  const relay = relayCost(
    Array.from({ length: options.ipv6N }, (_, i) => ({
      withRelay: bootMillis(log(`kets-bench-ipv6-relay-${i + 1}`)),
      without: bootMillis(log(`kets-bench-ipv6-plain-${i + 1}`)),
    })),
  );
  out(
    `DNS relay (port, IPv6 cluster's node, median of ${relay.pairs} pair(s)): with kind's IPv6 flags (relay enabled) ${
      relay.withRelay ?? "n/a"
    } ms, without ${relay.without ?? "n/a"} ms; the relay adds ${relay.addedMs ?? "n/a"} ms`,
  );

  let mounts: { identical: boolean; diff: string[] } | undefined;
  const portMounts = readIf(path.join(raw, "port.mountinfo"));
  const origMounts = readIf(path.join(raw, "original.mountinfo"));
  if (withOriginal && portMounts && origMounts) {
    const diff = mountDiff(normalizeMountInfo(origMounts), normalizeMountInfo(portMounts));
    mounts = { identical: diff.length === 0, diff };
    out(
      diff.length === 0
        ? "mountinfo after the entrypoint: the same for both (normalised)"
        : `mountinfo after the entrypoint differs (- original, + port):\n${diff.join("\n")}`,
    );
  }

  const ratio = origMedian ? round(portMedian / origMedian, 2) : undefined;
  const rss = vmHwmKb === undefined ? "n/a" : `${round(vmHwmKb / 1024)} MB`;
  const label = `boot (${VIEW_NAMES[view] ?? view}):`;
  const closing = withOriginal
    ? `${label} port/original median ratio ${ratio} (port ${portMedian} ms, original ${origMedian} ms, ${complete.length} pairs); programs: port ${
      portPrograms?.programs ?? "n/a"
    }, original ${origPrograms?.programs ?? "n/a"}; port peak RSS ${rss}`
    : `${label} port alone (KIND_ORIGINAL_ENTRYPOINT not set): port ${portMedian} ms median over ${portTimes.length} runs; programs: port ${
      portPrograms?.programs ?? "n/a"
    }; port peak RSS ${rss}`;
  const targets = targetLine(view, { ratio, programs: portPrograms?.programs });

  return {
    result: {
      boot: {
        pairs,
        port: stats(portTimes),
        original: origTimes.length ? stats(origTimes) : undefined,
        ratio,
      },
      programs: { port: portPrograms, original: origPrograms },
      breakdown: { port: portBreakdown, original: origBreakdown, traceRuns: traceN },
      port: { bundleBytes, vmHwmKb, importMs },
      floor,
      cluster,
      relay,
      mounts,
      closing,
      targets,
    },
    closing: [closing, targets],
  };
}

/** What enabling the DNS relay adds to a boot, from pairs of boots with and without it (ms). */
export interface RelayCost {
  /** Complete pairs. */
  pairs: number;
  withRelay?: number;
  without?: number;
  /** The median of the pairs' differences. */
  addedMs?: number;
}

/** The relay's cost from interleaved pairs; a pair missing either boot is left out. */
export function relayCost(
  pairs: readonly { withRelay?: number; without?: number }[],
): RelayCost {
  const complete = pairs.filter((p) => p.withRelay !== undefined && p.without !== undefined);
  if (complete.length === 0) return { pairs: 0 };
  return {
    pairs: complete.length,
    withRelay: round(median(complete.map((p) => p.withRelay!))),
    without: round(median(complete.map((p) => p.without!))),
    addedMs: round(median(complete.map((p) => p.withRelay! - p.without!))),
  };
}

/** The fields of one view in bench/results/latest.json that docs/speed.md shows. */
interface ViewForDocs {
  boot: {
    port: { median: number };
    original?: { median: number };
    ratio?: number;
    pairs: unknown[];
  };
  programs: { port?: ProgramCount; original?: ProgramCount };
  breakdown: {
    port: ReturnType<typeof medianSteps>;
    original?: ReturnType<typeof medianSteps>;
    traceRuns: number;
  };
  port: { vmHwmKb?: number; importMs: { cache?: number; noCache?: number } };
  mounts?: { identical: boolean };
  relay?: RelayCost;
}

/** One row of bench/scale.ts's results. */
interface ScaleRow {
  rules: number;
  dumpBytes: number;
  pureMs: number;
  stepMs: number;
  pureUsPerRule: number;
  vmHwmKb: number;
}

/** The fields of bench/results/latest.json (and scale.json) that docs/speed.md shows. */
export interface ResultsForDocs {
  date: string;
  machine: { kernel: string; cpus: number; cpuModel: string; docker: string; deno: string };
  views: Record<string, ViewForDocs>;
  closing: string[];
  scale?: { rows: ScaleRow[] };
}

/** The comment lines around the block of docs/speed.md that `npm run bench -- --update` writes. */
export const DOCS_BEGIN =
  "<!-- bench:begin: written by `npm run bench -- --update` from bench/results/; do not edit -->";
/** The end of that block. */
export const DOCS_END = "<!-- bench:end -->";

/** The steps' names as the docs show them: kind's function names, and the port's own step. */
const STEP_LABELS: Record<string, string> = {
  ...Object.fromEntries(Object.entries(ORIGINAL_STEPS).map(([fn, step]) => [step, fn])),
  dns_check: "dns_check (the port's own)",
};

/** `text` broken into lines of at most `width` characters at spaces; `indent` starts the later ones. */
function wrap(text: string, options: { width?: number; indent?: string } = {}): string[] {
  const { width = 100, indent = "" } = options;
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line.trim() !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `${indent}${word}`;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  return line === "" ? lines : [...lines, line];
}

/**
 * The markdown docs/speed.md shows between DOCS_BEGIN and DOCS_END, rendered from the committed
 * results alone, so that the figures there are the ones the bench wrote.
 */
export function renderSpeedDocs(results: ResultsForDocs): string {
  const views = Object.keys(results.views);
  const short = (view: string) => view === "v2" ? "v2 view" : view;
  const cell = (x: number | undefined) => x === undefined ? "–" : x.toFixed(1);
  const ms = (x: number | undefined) => x === undefined ? "" : `${x.toFixed(1)} ms`;
  const row = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const header = (first: string) => [
    row([first, ...views.flatMap((v) => [`${short(v)}: bash`, `${short(v)}: port`])]),
    row(["---", ...views.flatMap(() => ["---", "---"])]),
  ];
  const perView = (f: (v: ViewForDocs) => [string, string]) =>
    views.flatMap((view) => f(results.views[view]));
  const first = results.views[views[0]];
  const m = results.machine;
  const lines = [
    DOCS_BEGIN,
    "",
    ...wrap(
      `Measured ${
        results.date.slice(0, 10)
      } on ${m.cpus} cores (${m.cpuModel}), Linux ${m.kernel}, ` +
        `Docker ${m.docker}, Deno ${m.deno}: ${first.boot.pairs.length} pairs of fresh nodes per ` +
        `view, ${first.breakdown.traceRuns} traced runs per implementation. The closing lines:`,
    ),
    "",
    "```",
    ...results.closing,
    "```",
    "",
    ...header(""),
    row([
      "start → exec of the command, median",
      ...perView((v) => [
        ms(v.boot.original?.median),
        `${ms(v.boot.port.median)}${
          v.boot.ratio === undefined ? "" : ` (ratio ${v.boot.ratio.toFixed(2)})`
        }`,
      ]),
    ]),
    row([
      "programs executed before init (strace)",
      ...perView((v) => [
        String(v.programs.original?.programs ?? ""),
        String(v.programs.port?.programs ?? ""),
      ]),
    ]),
    row([
      "peak RSS before exec (VmHWM)",
      ...perView((v) => [
        "",
        v.port.vmHwmKb === undefined ? "" : `${(v.port.vmHwmKb / 1024).toFixed(1)} MB`,
      ]),
    ]),
    row([
      "runtime start → `main`, code caches / none",
      ...perView((v) => [
        "",
        `${cell(v.port.importMs.cache)} / ${cell(v.port.importMs.noCache)} ms`,
      ]),
    ]),
    // Results written before the relay was measured have no such row.
    ...(views.some((view) => results.views[view].relay?.addedMs !== undefined)
      ? [row([
        "IPv6 node's boot with / without the DNS relay, added",
        ...perView((v) => [
          "",
          v.relay?.addedMs === undefined
            ? ""
            : `${cell(v.relay.withRelay)} / ${ms(v.relay.without)}, +${v.relay.addedMs.toFixed(1)}`,
        ]),
      ])]
      : []),
    row([
      "mount table left for init",
      ...perView((v) => [
        "",
        v.mounts === undefined ? "" : v.mounts.identical ? "identical (normalized)" : "differs",
      ]),
    ]),
    "",
  ];
  const programs = (count: ProgramCount | undefined) =>
    count === undefined
      ? "not measured"
      : Object.entries(count.byName).map(([k, n]) => `${n} ${k}`).join(", ");
  const item = { indent: "  " };
  lines.push("Programs executed before init, by name (strace):", "");
  for (const view of views) {
    const v = results.views[view];
    if (v.programs.original) {
      lines.push(
        ...wrap(`- ${short(view)}, kind's script: ${programs(v.programs.original)}.`, item),
      );
    }
    lines.push(...wrap(`- ${short(view)}, the port: ${programs(v.programs.port)}.`, item));
  }
  lines.push(
    "",
    "Per phase and step, median ms of the traced runs (kind's script under `bash -x`, which",
    "slows it):",
    "",
    ...header("phase or step"),
  );
  const phase = (label: string, key: "startupMs" | "setupMs" | "finishMs" | "tailMs") =>
    row([
      label,
      ...perView((v) => [cell(v.breakdown.original?.[key]), cell(v.breakdown.port[key])]),
    ]);
  lines.push(phase("start → first step (the port: → `main`)", "startupMs"));
  lines.push(phase("setup (the port's `main` before the first step)", "setupMs"));
  const steps = [
    ...new Set(views.flatMap((view) => {
      const b = results.views[view].breakdown;
      return [...Object.keys(b.original?.steps ?? {}), ...Object.keys(b.port.steps)];
    })),
  ];
  for (const step of steps) {
    lines.push(row([
      STEP_LABELS[step] ?? step,
      ...perView((v) => [
        cell(v.breakdown.original?.steps[step]),
        cell(v.breakdown.port.steps[step]),
      ]),
    ]));
  }
  lines.push(phase("finish (the port: `starting init`, the boot mark)", "finishMs"));
  lines.push(phase("exec → command", "tailMs"));
  if (results.scale) {
    const size = (bytes: number) =>
      bytes < 1e6 ? `${Math.round(bytes / 1e3)} KB` : `${(bytes / 1e6).toFixed(1)} MB`;
    lines.push(
      "",
      "The rule rewrite (`npm run bench -- --scale`, bench/scale.ts):",
      "",
      row(["rules", "dump", "pure rewrite", "per rule", "whole network_magic step", "peak RSS"]),
      row(["---", "---", "---", "---", "---", "---"]),
      ...results.scale.rows.map((r) =>
        row([
          r.rules.toLocaleString("en-US"),
          size(r.dumpBytes),
          `${r.pureMs} ms`,
          `${r.pureUsPerRule} µs`,
          `${r.stepMs} ms`,
          `${(r.vmHwmKb / 1024).toFixed(1)} MB`,
        ])
      ),
    );
  }
  lines.push("", DOCS_END);
  return lines.join("\n") + "\n";
}

/** The block of `doc` between DOCS_BEGIN and DOCS_END, markers included, or undefined. */
export function speedDocsBlock(doc: string): string | undefined {
  return docsBlock(doc, DOCS_BEGIN, DOCS_END);
}

/** `doc` with its generated block replaced by `block`; throws when the markers are missing. */
export function replaceSpeedDocsBlock(doc: string, block: string): string {
  return replaceDocsBlock(doc, block, { begin: DOCS_BEGIN, end: DOCS_END, what: "bench block" });
}

/** The committed results as docs/speed.md renders them: latest.json, with scale.json's rows. */
export function readResultsForDocs(latestJson: string, scaleJson?: string): ResultsForDocs {
  const results = JSON.parse(latestJson) as ResultsForDocs;
  return scaleJson === undefined ? results : { ...results, scale: JSON.parse(scaleJson) };
}

/** Rewrites the bench block of the docs file from the committed results files. */
function updateDocs(docsFile: string, latestFile: string, scaleFile: string): void {
  const results = readResultsForDocs(
    fs.readFileSync(latestFile, "utf8"),
    readIf(scaleFile),
  );
  const doc = fs.readFileSync(docsFile, "utf8");
  fs.writeFileSync(docsFile, replaceSpeedDocsBlock(doc, renderSpeedDocs(results)));
  console.log(`docs: rewrote the bench block of ${path.relative(Deno.cwd(), docsFile)}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      raw: { type: "string" },
      views: { type: "string", default: "v1" },
      n: { type: "string" },
      "trace-n": { type: "string" },
      out: { type: "string" },
      bundle: { type: "string" },
      image: { type: "string" },
      "original-image": { type: "string" },
      scale: { type: "string" },
      docs: { type: "string" },
      from: { type: "string" },
      "floor-n": { type: "string", default: "0" },
      "cluster-nodes": { type: "string", default: "0" },
      "cluster-rounds": { type: "string", default: "0" },
      "ipv6-n": { type: "string", default: "0" },
    },
  });
  // --docs FILE --from JSON: only rewrite the docs' bench block from committed results.
  if (values.from !== undefined) {
    updateDocs(values.docs!, values.from, values.scale!);
    return;
  }
  const withOriginal = values["original-image"] !== undefined;
  const views = values.views!.split(/\s+/).filter(Boolean);
  const results: Record<string, ReturnType<typeof reportView>["result"]> = {};
  const closings: string[] = [];
  for (const view of views) {
    console.log(`== ${VIEW_NAMES[view] ?? view}`);
    const { result, closing } = reportView(view, {
      raw: path.join(values.raw!, view),
      n: Number(values.n),
      traceN: Number(values["trace-n"]),
      withOriginal,
      bundle: values.bundle,
      floorN: Number(values["floor-n"]),
      clusterNodes: Number(values["cluster-nodes"]),
      clusterRounds: Number(values["cluster-rounds"]),
      ipv6N: Number(values["ipv6-n"]),
    });
    results[view] = result;
    closings.push(...closing);
  }
  const scale = values.scale ? readIf(values.scale) : undefined;
  const result = {
    date: new Date().toISOString(),
    machine: machineFacts(),
    method: {
      start: "shim writes $EPOCHREALTIME just before exec of /usr/local/bin/entrypoint",
      end: "the command, bash -c, reads $EPOCHREALTIME first (bash start-up on both sides)",
      interleaved: withOriginal,
      fakeDmi: true,
      views: Object.fromEntries(views.map((v) => [v, VIEW_NAMES[v] ?? v])),
    },
    images: { port: values.image, original: values["original-image"] },
    views: results,
    scale: scale ? JSON.parse(scale) : undefined,
    closing: closings,
  };
  await Deno.mkdir(path.dirname(values.out!), { recursive: true });
  await Deno.writeTextFile(values.out!, JSON.stringify(result, null, 2) + "\n");
  console.log(`results: ${path.relative(Deno.cwd(), values.out!)}`);
  for (const line of closings) console.log(line);
  if (values.docs !== undefined) updateDocs(values.docs, values.out!, values.scale!);
}

if (import.meta.main) await main();
