/**
 * Which iptables backend the node uses: the one that already holds more rules (Docker's or the
 * host's), as kubernetes-sigs/iptables-wrappers decides, switched with update-alternatives.
 */
import type { Announcements, CommandQueries, Commands, Log, RunResult } from "./host.ts";
import { grepLines } from "./proc.ts";

/** An iptables backend. */
export type IptablesMode = "legacy" | "nft";

/** How long each nft dump may take, like kind's `timeout 5`. */
export const NFT_SAVE_TIMEOUT_SECONDS = 5;

/** Rule lines in iptables-save output: lines starting with `-`, like `grep -c '^-'`. */
export function countRuleLines(saved: string): number {
  return grepLines(saved).filter((line) => line.startsWith("-")).length;
}

/** The backend with more rules; a tie (including no rules at all) picks legacy. */
export function chooseIptablesMode(counts: { legacy: number; nft: number }): IptablesMode {
  return counts.legacy >= counts.nft ? "legacy" : "nft";
}

/** The update-alternatives calls that switch to `mode`, in kind's order. */
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
 * Starts the four dumps select_iptables counts. They only read the rule sets, so they run at
 * once: kind's bash runs them one after another, but none changes what another sees. kind bounds
 * the nft pair with `timeout 5 sh -c "iptables-nft-save; ip6tables-nft-save"`; here each nft
 * dump is bounded at 5 s directly, which is the same bound on the same reads with two programs
 * instead of four (timeout, sh and the dumps). The legacy dumps get the host's default bound.
 */
export function startIptablesDumps(host: CommandQueries): IptablesDumps {
  // Missing tools and failed dumps only mean fewer rules seen, as kind's `|| true` has it.
  const dump = { nothrow: true, stderr: "ignore" } as const;
  const nftBound = { ...dump, timeoutMs: NFT_SAVE_TIMEOUT_SECONDS * 1000 };
  const dumps = Promise.all(
    DUMP_TOOLS.map((tool) => host.query([tool], tool.includes("-nft-") ? nftBound : dump)),
  );
  // Awaited by select_iptables; a run that stops before it must not see an unhandled rejection.
  dumps.catch(() => {});
  return dumps;
}

/** kind's `select_iptables`, on dumps started earlier or now. */
export async function selectIptables(
  host: Commands & Log & Announcements,
  dumps: IptablesDumps = startIptablesDumps(host),
): Promise<void> {
  const results = await dumps;
  const counts = { legacy: 0, nft: 0 };
  results.forEach((result, index) => {
    const tool = DUMP_TOOLS[index];
    // A missing tool changes the decision without a word in kind's bash. (A timed-out dump is
    // already reported by the host, and what it printed still counts.)
    if (result.status === 127) {
      host.log("WARN", `${tool} could not be run (not in PATH); counting its rules as none`);
    }
    counts[tool.includes("-nft-") ? "nft" : "legacy"] += countRuleLines(result.stdout);
  });

  const mode = chooseIptablesMode(counts);
  host.announce(`setting iptables to detected mode: ${mode}`);
  for (const argv of alternativesCommands(mode)) {
    await host.run(argv, { stdout: "ignore" });
  }
}
