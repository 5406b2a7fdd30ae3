/** The diagnosis as text (lib/dns/diagnose/diagnose.ts): one fact per line, the verdict last. */
import { addressesOf } from "../message.ts";
import { relayLine } from "../relay/diagnose.ts";
import type { Diagnosis, ProbeSet, ResolvConfView } from "./facts.ts";

function resolvWords(view: ResolvConfView | undefined): string {
  if (!view) return "(none)";
  const search = view.search.length > 0 ? view.search.join(" ") : "(none)";
  return `nameserver ${view.nameservers.join(", ") || "(none)"}; search ${search}`;
}

function probeLine(set: ProbeSet, server: string, name: string): string {
  const head = `probe from the ${set.from.padEnd(4)} -> ${server}:53 for ${name}:`;
  if (set.notSent) return `${head} not sent: ${set.notSent}`;
  return `${head} ${
    set.results!.map((result) => {
      if (
        !result.answered
      ) return `${result.transport} failed after ${result.ms} ms: ${result.error}`;
      const addresses = addressesOf(result.response!);
      const answer = `${result.response!.status}${
        addresses.length ? ` ${addresses.join(" ")}` : ""
      }`;
      return `${result.transport} answered in ${result.ms} ms (${answer})`;
    }).join("; ")
  }`;
}

/** The report as text: one fact per line, the verdict last. */
export function renderReport(d: Diagnosis): string {
  const lines = [
    "kind-entrypoint-ts DNS diagnosis (KIND_ENTRYPOINT_DIAGNOSE=1); nothing on the node was changed",
    `container runtime:    ${d.runtime}`,
  ];
  d.backends.forEach((b, index) => {
    const label = index === 0 ? "Docker's DNS rules:  " : "                     ";
    const name = b.backend === "nftables" ? "nftables ip docker-dns" : b.backend;
    let text: string;
    if (b.unreadable) text = `not read (${b.unreadable})`;
    else if (b.rules.length === 0) text = "none";
    else {
      text = b.rules.map((rule) => `${rule.protocol} ${rule.hostIp}:53 -> ${rule.to}`).join(", ") +
        `; pods' path (prerouting): ${b.prerouting ? "yes" : "no"}`;
    }
    lines.push(`${label} ${name}: ${text}`);
  });
  const ruleIps = d.rulesHostIps.join(", ") || "(no rules)";
  const same = d.nameserver === undefined
    ? "resolv.conf names no nameserver"
    : `resolv.conf's nameserver ${d.nameserver} ${d.nameserverIsRulesHostIp ? "is" : "is not"} it`;
  lines.push(`rules' host IP:       ${ruleIps} (${same})`);
  lines.push(`resolv.conf:          ${resolvWords(d.resolvConf)}`);
  lines.push(`resolv.conf.original: ${resolvWords(d.resolvConfOriginal)}`);
  const value = (v: number | undefined) => v === undefined ? "unreadable" : String(v);
  lines.push(
    `route_localnet:       all=${value(d.routeLocalnet.all)} default=${
      value(d.routeLocalnet.default)
    }`,
  );
  for (const set of d.probes) lines.push(probeLine(set, d.nameserver ?? "?", d.name));
  // Another DNS service's section (see diagnose()) goes here, before the verdict.
  if (d.relay) lines.push(relayLine(d.relay));
  lines.push(`verdict: ${d.verdict}`);
  return lines.map((line) => `${line}\n`).join("");
}
