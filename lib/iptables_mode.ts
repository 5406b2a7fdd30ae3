/**
 * Which iptables backend the node uses: the one that already holds more rules (Docker's or the
 * host's), as kubernetes-sigs/iptables-wrappers decides, switched with update-alternatives.
 */
import type { Host, RunResult } from "./host.ts";
import { grepLines } from "./proc.ts";

/** An iptables backend. */
export type IptablesMode = "legacy" | "nft";

/** How long the nft dumps may take together, like kind's `timeout 5`. */
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

/** The results of iptables-legacy-save, ip6tables-legacy-save and the timed nft dumps. */
export type IptablesDumps = Promise<readonly [RunResult, RunResult, RunResult]>;

const LEGACY_TOOLS = ["iptables-legacy-save", "ip6tables-legacy-save"] as const;

/**
 * Starts the three dumps select_iptables counts. They only read the rule sets, so they run at
 * once: kind's bash runs them one after another, but none changes what another sees.
 */
export function startIptablesDumps(host: Pick<Host, "run">): IptablesDumps {
  // Missing tools and failed dumps only mean fewer rules seen, as kind's `|| true` has it.
  const dump = { nothrow: true, stderr: "ignore", readOnly: true } as const;
  const dumps = Promise.all(
    [
      host.run([LEGACY_TOOLS[0]], dump),
      host.run([LEGACY_TOOLS[1]], dump),
      // coreutils timeout, as kind runs it, kills the whole process group when the bound is hit.
      host.run([
        "timeout",
        String(NFT_SAVE_TIMEOUT_SECONDS),
        "sh",
        "-c",
        "iptables-nft-save; ip6tables-nft-save",
      ], dump),
    ] as const,
  );
  // Awaited by select_iptables; a run that stops before it must not see an unhandled rejection.
  dumps.catch(() => {});
  return dumps;
}

/** kind's `select_iptables`, on dumps started earlier or now. */
export async function selectIptables(
  host: Pick<Host, "run" | "log">,
  dumps: IptablesDumps = startIptablesDumps(host),
): Promise<void> {
  const [legacy4, legacy6, nftDump] = await dumps;
  let legacy = "";
  for (const [index, result] of [legacy4, legacy6].entries()) {
    if (result.status === 127) {
      host.log(
        "WARN",
        `${LEGACY_TOOLS[index]} could not be run (not in PATH); counting its rules as none`,
      );
    }
    legacy += result.stdout;
  }
  const nft = nftDump.stdout;
  // A hang or a missing tool changes the decision without a word in kind's bash.
  if (nftDump.status === 124) {
    host.log(
      "WARN",
      `iptables-nft-save and ip6tables-nft-save did not finish within ${NFT_SAVE_TIMEOUT_SECONDS} s; counting the rules they printed`,
    );
  } else if (nftDump.status === 127) {
    host.log(
      "WARN",
      "iptables-nft-save or ip6tables-nft-save could not be run (not in PATH); counting the rules printed",
    );
  }

  const mode = chooseIptablesMode({ legacy: countRuleLines(legacy), nft: countRuleLines(nft) });
  host.log("INFO", `setting iptables to detected mode: ${mode}`);
  for (const argv of alternativesCommands(mode)) {
    await host.run(argv, { stdout: "ignore" });
  }
}
