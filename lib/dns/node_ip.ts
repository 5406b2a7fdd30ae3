/**
 * After a restart Docker may give the node another address. kind's bash remembers the node's
 * addresses in /kind/old-ipv4 and /kind/old-ipv6, rewrites the old ones in the kubeadm-generated
 * files, and then regenerates the API server certificate, whose SANs hold the old address.
 */
import { EntrypointError } from "../errors.ts";
import type { Announcements, CommandChanges, Family, Files, Log, Lookups } from "../host/host.ts";
import { isAddress } from "../ip.ts";
import { escapeRegExp } from "../text.ts";

/** The files kind's bash updates, in its order; absent ones are skipped. */
export const FILES_WITH_NODE_IP = [
  "/etc/kubernetes/manifests/etcd.yaml",
  "/etc/kubernetes/manifests/kube-apiserver.yaml",
  "/etc/kubernetes/manifests/kube-controller-manager.yaml",
  "/etc/kubernetes/manifests/kube-scheduler.yaml",
  "/etc/kubernetes/controller-manager.conf",
  "/etc/kubernetes/scheduler.conf",
  "/etc/kubernetes/kubelet.conf",
  "/kind/kubeadm.conf",
  "/var/lib/kubelet/kubeadm-flags.env",
] as const;

export const APISERVER_CERT = "/etc/kubernetes/pki/apiserver.crt";
export const APISERVER_KEY = "/etc/kubernetes/pki/apiserver.key";
/** The cluster CA's key, which kubeadm signs a new API server certificate with. */
export const CLUSTER_CA_KEY = "/etc/kubernetes/pki/ca.key";
/** The API server's static pod manifest: this node is a control-plane node. */
export const APISERVER_MANIFEST = "/etc/kubernetes/manifests/kube-apiserver.yaml";

/** How long each hostname lookup may take, like the bash's `timeout 5 getent`. */
export const NODE_LOOKUP_TIMEOUT_MS = 5000;

/**
 * Replaces `oldIp` by `newIp` where it stands as a whole word (sed's `\b...\b`): `172.18.0.5`
 * is replaced in `172.18.0.5:6443` but not in `172.18.0.50`. The old address is matched
 * literally, whatever characters the file held.
 */
export function replaceWholeWord(text: string, oldIp: string, newIp: string): string {
  if (oldIp === "" || !text.includes(oldIp)) return text;
  return text.replace(new RegExp(`\\b${escapeRegExp(oldIp)}\\b`, "g"), () => newIp);
}

/** Reads a remembered address the way `$(cat FILE)` does: trailing newlines removed. */
export function parseRememberedAddress(text: string): string {
  return text.replace(/\n+$/, "");
}

type NodeIpHost = Lookups & CertificateHost;

type CertificateHost = Files & CommandChanges & Log & Announcements;

/**
 * Detects the current addresses, rewrites the old ones and regenerates the certificate. A changed
 * address is recorded in /kind/old-ipvN only once the files and the certificate are done (kind's
 * bash records it first): a regeneration that fails or is interrupted is then tried again at the
 * next boot, instead of leaving a certificate without the node's address for good.
 */
export async function updateNodeAddresses(host: NodeIpHost): Promise<void> {
  const name = host.hostname();
  const pending: Remembered[] = [];
  for (const family of [4, 6] as const) {
    const { changed, remember } = await updateFamily(host, name, family);
    if (remember === undefined) continue;
    if (changed) pending.push(remember);
    else host.writeText(remember.file, remember.address);
  }
  if (pending.length > 0) await fixCertificate(host);
  for (const { file, address } of pending) host.writeText(file, address);
}

/** An address to record in /kind/old-ipvN. */
interface Remembered {
  file: string;
  address: string;
}

async function updateFamily(
  host: NodeIpHost,
  name: string,
  family: Family,
): Promise<{ changed: boolean; remember?: Remembered }> {
  const label = `IPv${family}`;
  const remembered = `/kind/old-ipv${family}`;
  const current = (await host.lookup(name, family, NODE_LOOKUP_TIMEOUT_MS)) ?? "";
  host.log("INFO", `detected ${label} address: ${current}`);
  let changed = false;
  if (host.kind(remembered) === "file") {
    const old = parseRememberedAddress(host.readText(remembered));
    host.log("INFO", `detected old ${label} address: ${old}`);
    if (current === "") {
      const message = `have an old ${label} address but no current ${label} address (!)`;
      // kind's bash stops for IPv4 only; for IPv6 it logs and goes on.
      if (family === 4) throw new EntrypointError(message, { verbatim: true });
      host.log("ERROR", message);
    } else if (old !== current && !isAddress(old, family)) {
      // The bash would feed it to sed as a regular expression; text that is not exactly one
      // address (a corrupt file) would rewrite unrelated words such as host:port or image:tag.
      host.log("WARN", `ignoring ${remembered}: ${JSON.stringify(old)} is not an ${label} address`);
    } else if (old !== current) {
      changed = true;
      // Every file is read before the first is written: one that cannot be read stops the step
      // with none of them changed, and /kind/old-ipvN still names the address to replace.
      const updates: { file: string; text: string }[] = [];
      for (const file of FILES_WITH_NODE_IP) {
        if (host.kind(file) !== "file") continue;
        const text = host.readText(file);
        const updated = replaceWholeWord(text, old, current);
        if (updated !== text) updates.push({ file, text: updated });
      }
      for (const { file, text } of updates) host.writeText(file, text, { atomic: true });
    }
  }
  return current === ""
    ? { changed }
    : { changed, remember: { file: remembered, address: current } };
}

/** How long kubeadm may take to generate the certificate (a key pair on a busy machine). */
export const KUBEADM_TIMEOUT_MS = 60_000;

/**
 * Regenerates the API server certificate when this node has one (control-plane nodes). kubeadm
 * keeps a certificate it finds, so the old pair is removed first; when kubeadm fails the old pair
 * is written back, since a certificate for the old address serves better than none.
 *
 * A run killed while kubeadm was issuing the pair leaves none, and since the new address is only
 * recorded afterwards (`updateNodeAddresses`), the next boot comes here again: a control-plane
 * node (the API server's manifest and the cluster CA's key are there) then gets its pair issued,
 * where kind's bash, finding no certificate, would take the node for a worker.
 */
export async function fixCertificate(
  host: CertificateHost,
) {
  const pair = [APISERVER_CERT, APISERVER_KEY];
  const present = pair.filter((file) => host.kind(file) === "file");
  const hasPair = present.length === pair.length;
  const lostPair = !hasPair && host.kind(APISERVER_MANIFEST) === "file" &&
    host.kind(CLUSTER_CA_KEY) === "file";
  if (!hasPair && !lostPair) return;
  host.announce("clearing and regenerating the certificate for serving the Kubernetes API");
  const previous = present.map((file) => ({
    file,
    data: host.readText(file),
    mode: host.mode(file) ?? 0o600,
  }));
  for (const { file } of previous) host.remove(file);
  try {
    await host.run([
      "kubeadm",
      "init",
      "phase",
      "certs",
      "apiserver",
      "--config",
      "/kind/kubeadm.conf",
    ], {
      stdout: "forward",
      timeoutMs: KUBEADM_TIMEOUT_MS,
    });
  } catch (error) {
    for (const { file, data, mode } of previous) host.writeText(file, data, { mode });
    const message = error instanceof Error ? error.message : String(error);
    throw new EntrypointError(
      hasPair
        ? `${message}; the previous apiserver.crt and apiserver.key were put back`
        : `${message}; there was no complete apiserver.crt and apiserver.key pair to put back`,
      {
        exitCode: error instanceof EntrypointError ? error.exitCode : 1,
        cause: error,
      },
    );
  }
}
