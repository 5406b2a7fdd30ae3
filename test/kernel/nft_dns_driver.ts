/**
 * Test driver for the kernel tier (test/kernel/nft_dns_sandbox.sh): the network magic's DNS part
 * with the nftables rewrite, from the sources, until `enableNetworkMagic` calls it. Unlike the
 * planned wiring it runs the nftables rewrite unconditionally, so the sandbox can show that a
 * machine without Docker's table gets no `nft -f`.
 */
import { findDockerHostIp } from "../../lib/dns/docker_host_ip.ts";
import { createHost } from "../../lib/host/real.ts";
import { rewriteNatRules, writeResolvConf } from "../../lib/dns/network_magic.ts";
import { rewriteNftDockerDns } from "../../lib/dns/nft_dns.ts";

const host = createHost();
const { address } = await findDockerHostIp(host);
await rewriteNatRules(host, address);
const changed = await rewriteNftDockerDns(host, address);
writeResolvConf(host, address, host.env("KIND_DNS_SEARCH"));
console.log(
  `docker host IP ${address}; nftables table ${changed === "changed" ? "rewritten" : "unchanged"}`,
);
