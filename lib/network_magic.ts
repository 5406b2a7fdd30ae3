/**
 * The "network magic": make Docker's embedded DNS reachable from pods. See README.md for a
 * diagram. Reads the machine, computes every new text in memory, then applies it.
 */
import { findDockerHostIp } from "./docker_host_ip.ts";
import { EntrypointError } from "./errors.ts";
import type { Host } from "./host.ts";
import { parseIptablesSave, rewriteDockerDnsRules } from "./nat_rules.ts";
import { rewriteNftDockerDns } from "./nft_dns.ts";
import { updateNodeAddresses } from "./node_ip.ts";
import { renderResolvConf } from "./resolv_conf.ts";

export const RESOLV_CONF = "/etc/resolv.conf";
export const RESOLV_CONF_ORIGINAL = "/etc/resolv.conf.original";

type MagicHost = Pick<
  Host,
  | "lookup"
  | "run"
  | "which"
  | "readText"
  | "writeText"
  | "copyFile"
  | "kind"
  | "env"
  | "hostname"
  | "log"
  | "remove"
>;

/** kind's `enable_network_magic`: NAT rules, resolv.conf, node addresses. */
export async function enableNetworkMagic(host: MagicHost): Promise<void> {
  const { address: hostIp } = await findDockerHostIp(host);
  await rewriteNatRules(host, hostIp);
  writeResolvConf(host, hostIp, host.env("KIND_DNS_SEARCH"));
  await updateNodeAddresses(host);
}

/**
 * `iptables-save`, the rewrite in memory, one `iptables-restore` (skipped when nothing changes);
 * then, when Docker's chains are not in iptables at all, Docker's nftables table (Docker 28.3+
 * with the nftables firewall backend keeps its DNS NAT in `ip docker-dns`, which iptables-save
 * cannot see). The gate spares the `nft` process on the common iptables path.
 */
export async function rewriteNatRules(
  host: Pick<Host, "run" | "which">,
  hostIp: string,
): Promise<void> {
  const { stdout: saved } = await host.run(["iptables-save"], { readOnly: true });
  try {
    parseIptablesSave(saved);
  } catch (error) {
    throw new EntrypointError(
      `Cannot parse iptables-save output: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const rewritten = rewriteDockerDnsRules(saved, hostIp, { skipExistingJumps: true });
  if (rewritten !== saved) {
    await host.run(["iptables-restore"], { input: rewritten, diffAgainst: saved });
  }
  if (!/^:DOCKER_OUTPUT /m.test(saved)) await rewriteNftDockerDns(host, hostIp);
}

/**
 * Keeps Docker's file as resolv.conf.original and writes the node's resolv.conf in one write.
 * A second run in the same container finds its own output in resolv.conf and keeps the saved
 * original instead of overwriting it with the rewritten file.
 */
export function writeResolvConf(
  host: Pick<Host, "readText" | "writeText" | "kind" | "log">,
  hostIp: string,
  dnsSearch: string | undefined,
): void {
  const current = host.readText(RESOLV_CONF);
  let original = current;
  if (host.kind(RESOLV_CONF_ORIGINAL) === "file") {
    const saved = host.readText(RESOLV_CONF_ORIGINAL);
    const ours = renderResolvConf({ original: saved, hostIp, dnsSearch });
    if (ours.ok && ours.content === current) original = saved;
  }
  const result = renderResolvConf({ original, hostIp, dnsSearch });
  if (!result.ok) {
    throw new EntrypointError(
      `Cannot rewrite ${RESOLV_CONF}: ${result.reason}; it was left as it was`,
    );
  }
  for (const warning of result.warnings) host.log("WARN", warning);
  if (original === current) host.writeText(RESOLV_CONF_ORIGINAL, current);
  host.writeText(RESOLV_CONF, result.content);
}
