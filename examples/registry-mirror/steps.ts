/**
 * Two boot steps for a custom kind node image, written against the package's public API:
 *
 * - `registry_mirror`: containerd pulls from a registry mirror first. The mirror comes from
 *   `KIND_REGISTRY_MIRROR` (an http(s) URL), the registry it stands in for from
 *   `KIND_REGISTRY_MIRROR_FOR` (default docker.io); the step writes
 *   `/etc/containerd/certs.d/<registry>/hosts.toml`, which containerd reads at each pull.
 * - `extra_ca`: the certificates in `/etc/kind-ca/ca.crt` (one or more PEM blocks, e.g. a
 *   corporate CA mounted with kind's `extraMounts`) join the node's trust store through
 *   `update-ca-certificates`.
 *
 * Both run right after kind's `containerd` step, before systemd starts containerd. Decisions are
 * pure functions of text; the two `run` functions only read and write through the host.
 */
import type {
  Announcements,
  CommandChanges,
  Environment,
  Files,
  Log,
  Step,
} from "kind-entrypoint-ts";

/** The variable naming the mirror. */
export const MIRROR_ENV = "KIND_REGISTRY_MIRROR";
/** The variable naming the registry the mirror stands in for. */
export const MIRROR_FOR_ENV = "KIND_REGISTRY_MIRROR_FOR";
/** The registry mirrored when `KIND_REGISTRY_MIRROR_FOR` is unset or empty. */
export const DEFAULT_REGISTRY = "docker.io";
/** Where containerd looks for per-registry host configuration (kind's `config_path`). */
export const CERTS_D = "/etc/containerd/certs.d";
/** containerd's configuration, checked for `config_path`. */
export const CONTAINERD_CONFIG = "/etc/containerd/config.toml";
/** The CA bundle to trust, when present. */
export const CA_SOURCE = "/etc/kind-ca/ca.crt";
/** Where update-ca-certificates picks up local certificates (one per file, `.crt`). */
export const CA_TARGET_DIR = "/usr/local/share/ca-certificates";
/** update-ca-certificates rehashes every certificate of the store: give it more than 10 s. */
export const UPDATE_CA_TIMEOUT_MS = 60_000;

/**
 * The mirror URL from `KIND_REGISTRY_MIRROR`, or undefined when unset or empty. Throws when the
 * value is not a plain http(s) URL with a host: no credentials (they would land in a world-
 * readable file), no query or fragment, no whitespace, quotes or backslashes.
 */
export function parseMirror(value: string | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  const refuse = (why: string) => new Error(`${MIRROR_ENV}=${JSON.stringify(value)}: ${why}`);
  // deno-lint-ignore no-control-regex
  if (/[\s"'`\\\x00-\x1f\x7f]/.test(value)) {
    throw refuse("must not contain whitespace, quotes, backslashes or control characters");
  }
  const notAUrl =
    "not a URL (expected http:// or https:// and a host, e.g. https://mirror.example:5000)";
  // The URL parser would forgive `https:///host` and `http:host`; a person did not mean those.
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/[^/]/.exec(value)?.[1];
  if (scheme === undefined) throw refuse(notAUrl);
  if (!/^https?$/i.test(scheme)) throw refuse(`scheme ${scheme} is not http or https`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refuse(notAUrl);
  }
  if (url.hostname === "") throw refuse("no host");
  if (url.username !== "" || url.password !== "") {
    throw refuse("credentials do not belong in the URL (configure them in containerd instead)");
  }
  if (url.search !== "" || url.hash !== "" || value.includes("?") || value.includes("#")) {
    throw refuse("a query or fragment means nothing to containerd");
  }
  return value;
}

/**
 * The registry named by `KIND_REGISTRY_MIRROR_FOR` (docker.io when unset or empty). It becomes a
 * directory name, so it must be a host name with an optional port.
 */
export function parseRegistry(value: string | undefined): string {
  if (value === undefined || value === "") return DEFAULT_REGISTRY;
  if (
    !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$/.test(value)
  ) {
    throw new Error(
      `${MIRROR_FOR_ENV}=${JSON.stringify(value)}: not a registry host name (e.g. docker.io, ` +
        "registry.k8s.io or registry.example:5000)",
    );
  }
  return value;
}

/** The hosts.toml containerd reads for `registry`. */
export function hostsTomlPath(registry: string): string {
  return `${CERTS_D}/${registry}/hosts.toml`;
}

/** The upstream containerd falls back to: Docker Hub's API lives on registry-1.docker.io. */
export function upstreamServer(registry: string): string {
  return registry === "docker.io" ? "https://registry-1.docker.io" : `https://${registry}`;
}

/** hosts.toml sending pulls and resolves for `registry` to `mirror` first. */
export function renderHostsToml(registry: string, mirror: string): string {
  return [
    `# Written at boot from ${MIRROR_ENV}: pulls from ${registry} try this mirror first.`,
    `server = ${tomlString(upstreamServer(registry))}`,
    "",
    `[host.${tomlString(mirror)}]`,
    '  capabilities = ["pull", "resolve"]',
    "",
  ].join("\n");
}

const TOML_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  '"': '\\"',
  "\b": "\\b",
  "\t": "\\t",
  "\n": "\\n",
  "\f": "\\f",
  "\r": "\\r",
};

/** `text` as a TOML basic string: quotes, backslashes and control characters escaped. */
export function tomlString(text: string): string {
  const escaped = text.replace(
    // deno-lint-ignore no-control-regex
    /[\\"\x00-\x1f\x7f]/g,
    (c) => TOML_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return `"${escaped}"`;
}

/** True when containerd's configuration points at /etc/containerd/certs.d (kind's images do). */
export function readsCertsD(config: string): boolean {
  return config.split("\n").some((line) =>
    /^\s*config_path\s*=\s*["']\/etc\/containerd\/certs\.d\/?["']/.test(line)
  );
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/g;

/**
 * Each certificate of a PEM bundle, normalized to its own file's text (update-ca-certificates
 * wants one certificate per file). Text between blocks (comments, `subject=` lines) is ignored;
 * a bundle without a certificate, or a block whose body is not base64, is refused.
 */
export function splitCertificates(bundle: string, source: string): string[] {
  const certificates: string[] = [];
  for (const match of bundle.matchAll(PEM_BLOCK)) {
    const body = match[1].replace(/\s+/g, "");
    if (body === "" || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
      throw new Error(`${source}: certificate ${certificates.length + 1} is not base64 PEM`);
    }
    const lines = body.match(/.{1,64}/g) ?? [];
    certificates.push(
      ["-----BEGIN CERTIFICATE-----", ...lines, "-----END CERTIFICATE-----", ""].join("\n"),
    );
  }
  if (certificates.length === 0) {
    throw new Error(`${source}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it`);
  }
  return certificates;
}

/** The trust-store file of the `index`-th certificate (from 0). */
export function caTargetFile(index: number): string {
  return `${CA_TARGET_DIR}/kind-ca-${index + 1}.crt`;
}

/** `registry_mirror`: hosts.toml for the mirror in `KIND_REGISTRY_MIRROR`, if set. */
export const registryMirror: Step = {
  name: "registry_mirror",
  // Reads the environment and containerd's config, writes one file.
  run(host: Environment & Files & Log) {
    const mirror = parseMirror(host.env(MIRROR_ENV));
    if (mirror === undefined) return;
    const registry = parseRegistry(host.env(MIRROR_FOR_ENV));
    host.log("INFO", `using ${mirror} as a mirror of ${registry}`);
    const config = host.kind(CONTAINERD_CONFIG) === "file" ? host.readText(CONTAINERD_CONFIG) : "";
    if (!readsCertsD(config)) {
      host.log(
        "WARN",
        `${CONTAINERD_CONFIG} does not set config_path = "${CERTS_D}": containerd will not read the mirror`,
      );
    }
    const file = hostsTomlPath(registry);
    const text = renderHostsToml(registry, mirror);
    // A restart finds the file of the first boot: leave it as it is.
    if (host.kind(file) === "file" && host.readText(file) === text) return;
    host.mkdirp(file.slice(0, file.lastIndexOf("/")));
    host.writeText(file, text);
  },
};

/** `extra_ca`: the certificates of /etc/kind-ca/ca.crt in the trust store, if it exists. */
export const extraCa: Step = {
  name: "extra_ca",
  // Reads the bundle, writes one file per certificate, runs one program.
  async run(host: Files & CommandChanges & Announcements) {
    if (host.kind(CA_SOURCE) !== "file") return;
    const certificates = splitCertificates(host.readText(CA_SOURCE), CA_SOURCE);
    const changed = certificates.flatMap((pem, index) => {
      const file = caTargetFile(index);
      return host.kind(file) === "file" && host.readText(file) === pem ? [] : [[file, pem]];
    });
    if (changed.length === 0) return;
    // Announced: a dry run words it as what it would do.
    host.announce(
      `adding ${certificates.length} CA certificate(s) from ${CA_SOURCE} to the trust store`,
    );
    host.mkdirp(CA_TARGET_DIR);
    for (const [file, pem] of changed) host.writeText(file, pem);
    await host.run(["update-ca-certificates"], { timeoutMs: UPDATE_CA_TIMEOUT_MS });
  },
};
