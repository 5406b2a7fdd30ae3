/**
 * Proxy settings for every systemd service of the node, from the proxy variables the kind CLI
 * passes to the node container.
 */
import type { Host } from "./host.ts";

export const PROXY_CONF_DIR = "/etc/systemd/system.conf.d";
export const PROXY_CONF = `${PROXY_CONF_DIR}/proxy-default-environment.conf`;

/** The proxy variables, in the order they are written; unset ones are written empty. */
export const PROXY_VARIABLES = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"] as const;

/**
 * The systemd drop-in setting `DefaultEnvironment`. Values are written as they are, without
 * escaping, exactly as kind's heredoc does.
 */
export function renderProxyConf(env: (name: string) => string | undefined): string {
  const assignments = PROXY_VARIABLES.map((name) => `"${name}=${env(name) ?? ""}"`);
  return `[Manager]\nDefaultEnvironment=${assignments.join(" ")}\n`;
}

/** kind's `configure_proxy`. */
export function configureProxy(host: Pick<Host, "env" | "mkdirp" | "writeText">): void {
  host.mkdirp(PROXY_CONF_DIR);
  host.writeText(PROXY_CONF, renderProxyConf((name) => host.env(name)));
}
