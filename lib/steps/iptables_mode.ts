/**
 * Which iptables backend the node uses: the one that already holds more rules (Docker's or the
 * host's), as kubernetes-sigs/iptables-wrappers decides, switched with update-alternatives. On a
 * tie (podman, Docker's default bridge and nerdctl write no rules into the node) nft, as
 * iptables-wrappers guesses, when the nft dump works; kind's bash picks legacy there.
 */
import type {
  Announcements,
  CommandQueries,
  Commands,
  FileQueries,
  Log,
  RunResult,
} from "../host/host.ts";
import { grepLines } from "../host/proc.ts";
import { EXIT_NOT_FOUND } from "../exit_status.ts";

/** An iptables backend. */
export type IptablesMode = "legacy" | "nft";

/** How long each nft dump may take, like kind's `timeout 5`. */
export const NFT_SAVE_TIMEOUT_SECONDS = 5;

/** Rule lines in iptables-save output: lines starting with `-`, like `grep -c '^-'`. */
export function countRuleLines(saved: string): number {
  return grepLines(saved).filter((line) => line.startsWith("-")).length;
}

/**
 * The backend with more rules. A tie (no rules at all, as under podman) picks nft when
 * `nftAnswered` (iptables-nft-save exited 0: the kernel has nf_tables), else legacy as kind's
 * bash always does. Legacy needs the ip_tables modules, which a rootless node cannot load (kind
 * #4260) and a kernel built without CONFIG_NETFILTER_XTABLES_LEGACY lacks.
 */
export function chooseIptablesMode(
  counts: { legacy: number; nft: number },
  nftAnswered = false,
): IptablesMode {
  if (counts.legacy === counts.nft) return nftAnswered ? "nft" : "legacy";
  return counts.legacy > counts.nft ? "legacy" : "nft";
}

/**
 * The update-alternatives calls that switch to `mode`, in kind's order (the real host does their
 * work in-process when it can, lib/host/alternatives.ts).
 */
export function alternativesCommands(mode: IptablesMode): string[][] {
  return ["iptables", "ip6tables"].map((name) => [
    "update-alternatives",
    "--set",
    name,
    `/usr/sbin/${name}-${mode}`,
  ]);
}

/** The results of the four dumps select_iptables counts, in the order of `DUMP_TOOLS`. */
export type IptablesDumps = Promise<readonly RunResult[]>;

/** The dumps whose `-` lines are counted: legacy first, then nft, as kind's bash runs them. */
export const DUMP_TOOLS = [
  "iptables-legacy-save",
  "ip6tables-legacy-save",
  "iptables-nft-save",
  "ip6tables-nft-save",
] as const;

/**
 * The file that lists the legacy (x_tables) tables instantiated in this network namespace, which
 * is all that a legacy dump tool reads to know what to print, by dump tool.
 */
export const LEGACY_TABLE_NAMES: Readonly<Record<string, string>> = {
  "iptables-legacy-save": "/proc/net/ip_tables_names",
  "ip6tables-legacy-save": "/proc/net/ip6_tables_names",
};

/**
 * True when a legacy dump would print no table: its table list is missing (x_tables not
 * loaded) or empty (no legacy table in this network namespace), so it prints nothing and
 * counts no rule. Unreadable for another reason: false, and the tool runs as in kind's bash.
 */
export function legacyDumpIsEmpty(host: FileQueries, tool: string): boolean {
  const names = LEGACY_TABLE_NAMES[tool];
  if (names === undefined) return false;
  if (host.kind(names) === undefined) return true;
  try {
    return host.readText(names).trim() === "";
  } catch {
    return false;
  }
}

/**
 * Starts the four dumps select_iptables counts. They only read the rule sets, so they run at
 * once: kind's bash runs them one after another, but none changes what another sees. kind bounds
 * the nft pair with `timeout 5 sh -c "iptables-nft-save; ip6tables-nft-save"`; here each nft
 * dump is bounded at 5 s directly, which is the same bound on the same reads with two programs
 * instead of four (timeout, sh and the dumps). The legacy dumps get the host's default bound.
 * A legacy dump that would print nothing (no legacy table in this network namespace, the
 * common case where Docker uses nft) is not started: its answer is known without it.
 * stderr is kept, not dropped: network_magic reuses the selected backend's IPv4 dump (see
 * `selectedDump`) only when that dump printed nothing on stderr.
 */
export function startIptablesDumps(host: CommandQueries & FileQueries): IptablesDumps {
  // Missing tools and failed dumps only mean fewer rules seen, as kind's `|| true` has it.
  const dump = { nothrow: true, stderr: "capture" } as const;
  // The nft dumps talk netlink and start nothing (a legacy one may start modprobe).
  const nftBound = {
    ...dump,
    timeoutMs: NFT_SAVE_TIMEOUT_SECONDS * 1000,
    startsNoPrograms: true,
  } as const;
  const dumps = Promise.all(
    DUMP_TOOLS.map((tool) => {
      // The table list first: for the nft dumps it answers at once, and no PATH walk delays them.
      if (legacyDumpIsEmpty(host, tool) && host.which(tool) !== undefined) {
        return Promise.resolve(emptyDump(tool));
      }
      return host.query([tool], tool.includes("-nft-") ? nftBound : dump);
    }),
  );
  // Awaited by select_iptables; a run that stops before it must not see an unhandled rejection.
  dumps.catch(() => {});
  return dumps;
}

/** What a legacy dump prints when there is no legacy table. */
function emptyDump(tool: string): RunResult {
  return { argv: [tool], status: 0, stdout: "", stderr: "", timedOut: false };
}

/**
 * The IPv4 dump of `mode` among `results` (in `DUMP_TOOLS` order) when it is what
 * `iptables-save` would print once `mode` is selected: it ran, succeeded and printed nothing on
 * stderr (a warning there belongs in the log of network_magic's own iptables-save). Else
 * undefined, and network_magic runs iptables-save itself.
 */
export function selectedDump(
  results: readonly RunResult[],
  mode: IptablesMode,
): RunResult | undefined {
  const result = results[DUMP_TOOLS.indexOf(`iptables-${mode}-save`)];
  if (result === undefined || result.status !== 0 || result.timedOut) return undefined;
  if (result.stderr !== "" || result.stdout === "") return undefined;
  return result;
}

/**
 * kind's `select_iptables`, on dumps started earlier or now. Returns the mode chosen and that
 * mode's IPv4 dump when network_magic can use it instead of running iptables-save again.
 */
export async function selectIptables(
  host: Commands & FileQueries & Log & Announcements,
  dumps: IptablesDumps = startIptablesDumps(host),
): Promise<{ mode: IptablesMode; saved?: RunResult }> {
  const results = await dumps;
  const counts = { legacy: 0, nft: 0 };
  results.forEach((result, index) => {
    const tool = DUMP_TOOLS[index];
    // A missing tool changes the decision without a word in kind's bash. (A timed-out dump is
    // already reported by the host, and what it printed still counts.)
    if (result.status === EXIT_NOT_FOUND) {
      host.log("WARN", `${tool} could not be run (not in PATH); counting its rules as none`);
    }
    counts[tool.includes("-nft-") ? "nft" : "legacy"] += countRuleLines(result.stdout);
  });

  const nftAnswered = results[DUMP_TOOLS.indexOf("iptables-nft-save")].status === 0;
  const mode = chooseIptablesMode(counts, nftAnswered);
  host.announce(`setting iptables to detected mode: ${mode}`);
  for (const argv of alternativesCommands(mode)) {
    await host.run(argv, { stdout: "ignore" });
  }
  return { mode, saved: selectedDump(results, mode) };
}
