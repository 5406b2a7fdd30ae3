/**
 * Proxy settings for every systemd service of the node, from the proxy variables the kind CLI
 * passes to the node container.
 */
import type { Environment, FileChanges } from "../host/host.ts";

export const PROXY_CONF_DIR = "/etc/systemd/system.conf.d";
export const PROXY_CONF = `${PROXY_CONF_DIR}/proxy-default-environment.conf`;

/** The proxy variables, in the order they are written; unset ones are written empty. */
export const PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"] as const;

/**
 * The systemd drop-in setting `DefaultEnvironment`. Each assignment is double-quoted and escaped
 * as systemd.syntax(7) reads quoted words (C escapes): `\\`, `\"` and control characters such as
 * a line break are escaped, so a value cannot end the quoting or the line and add a setting.
 * Values without those characters are written as they are, like kind's heredoc.
 */
export function renderProxyConf(env: (name: string) => string | undefined): string {
  const assignments = PROXY_VARIABLES.map((name) => quoteSystemdWord(`${name}=${env(name) ?? ""}`));
  return `[Manager]\nDefaultEnvironment=${assignments.join(" ")}\n`;
}

const C_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  '"': '\\"',
  "\n": "\\n",
  "\t": "\\t",
  "\r": "\\r",
};

/** `text` as one double-quoted word of a systemd setting, escaped for systemd's C unescaping. */
export function quoteSystemdWord(text: string): string {
  const escaped = text.replace(
    // deno-lint-ignore no-control-regex
    /[\\"\x00-\x1f\x7f]/g,
    (c) => C_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
  return `"${escaped}"`;
}

/** kind's `configure_proxy`. */
export function configureProxy(host: Environment & FileChanges): void {
  host.mkdirp(PROXY_CONF_DIR);
  host.writeText(PROXY_CONF, renderProxyConf((name) => host.env(name)));
}
