import assert from "node:assert/strict";
import { parseRelayEnv } from "./config.ts";

const env = (values: Record<string, string>) => (name: string) => values[name];

Deno.test("parseRelayEnv() reads the listen address and the upstream", () => {
  assert.deepEqual(
    parseRelayEnv(env({
      KIND_DNS_RELAY_LISTEN: "fc00:f853:ccd:e793::3",
      KIND_DNS_RELAY_UPSTREAM: " 172.18.0.1\n",
    })),
    { ok: true, options: { listen: "fc00:f853:ccd:e793::3", upstream: "172.18.0.1" } },
  );
});

Deno.test("parseRelayEnv() reads the optional ports and timeout", () => {
  assert.deepEqual(
    parseRelayEnv(env({
      KIND_DNS_RELAY_LISTEN: "::1",
      KIND_DNS_RELAY_UPSTREAM: "127.0.0.1",
      KIND_DNS_RELAY_PORT: "0",
      KIND_DNS_RELAY_UPSTREAM_PORT: "5353",
      KIND_DNS_RELAY_TIMEOUT_MS: "250",
    })),
    {
      ok: true,
      options: {
        listen: "::1",
        upstream: "127.0.0.1",
        port: 0,
        upstreamPort: 5353,
        timeoutMs: 250,
      },
    },
  );
});

Deno.test("parseRelayEnv() says what is missing or wrong", () => {
  const listen = "KIND_DNS_RELAY_LISTEN";
  const upstream = "KIND_DNS_RELAY_UPSTREAM";
  const reason = (values: Record<string, string>) => {
    const result = parseRelayEnv(env(values));
    return result.ok ? "ok" : result.reason;
  };
  assert.equal(reason({ [upstream]: "172.18.0.1" }), "KIND_DNS_RELAY_LISTEN is not set");
  assert.equal(reason({ [listen]: "::1" }), "KIND_DNS_RELAY_UPSTREAM is not set");
  assert.equal(
    reason({ [listen]: "kind-worker", [upstream]: "172.18.0.1" }),
    "KIND_DNS_RELAY_LISTEN=kind-worker is not an IP address",
  );
  assert.equal(
    reason({ [listen]: "::1", [upstream]: "172.18.0.1:53" }),
    "KIND_DNS_RELAY_UPSTREAM=172.18.0.1:53 is not an IP address",
  );
  assert.equal(
    reason({ [listen]: "::1", [upstream]: "172.18.0.1", KIND_DNS_RELAY_PORT: "65536" }),
    "KIND_DNS_RELAY_PORT=65536 is not a whole number from 0 to 65535",
  );
  assert.equal(
    reason({ [listen]: "::1", [upstream]: "172.18.0.1", KIND_DNS_RELAY_TIMEOUT_MS: "1e3" }),
    "KIND_DNS_RELAY_TIMEOUT_MS=1e3 is not a whole number from 1 to 60000",
  );
});
