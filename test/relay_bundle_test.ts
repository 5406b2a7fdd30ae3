/** dist/relay.js, the relay's own bundle, run as the node's unit runs it. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildQuery, parseResponse } from "../lib/dns/message.ts";
import { buildBundle, DENO, REPO } from "./support/bundle.ts";
import { startFakeUpstream } from "./support/fake_upstream.ts";

const RELAY = join(REPO, "dist/relay.js");

Deno.test("dist/relay.js uses no Node.js module and is apart from the entrypoint's bundle", () => {
  buildBundle();
  const relay = readFileSync(RELAY, "utf8");
  assert.doesNotMatch(relay, /\bnode:|\brequire\(/);
  assert.doesNotMatch(readFileSync(join(REPO, "dist/entrypoint.js"), "utf8"), /listenDatagram/);
});

Deno.test("dist/relay.js logs where it listens and relays a query", async () => {
  buildBundle();
  const upstream = startFakeUpstream();
  const child = new Deno.Command(DENO, {
    args: ["run", "--unstable-net", "--allow-net", "--allow-env", "--no-config", RELAY],
    env: {
      KIND_DNS_RELAY_LISTEN: "::1",
      KIND_DNS_RELAY_PORT: "0",
      KIND_DNS_RELAY_UPSTREAM: "127.0.0.1",
      KIND_DNS_RELAY_UPSTREAM_PORT: String(upstream.port),
      DENO_NO_UPDATE_CHECK: "1",
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const line = text.split("\n")[0];
    const match = /^INFO: relaying DNS on \[::1\]:(\d+) \(UDP and TCP\) to 127\.0\.0\.1:\d+$/
      .exec(line);
    assert.ok(match, line);
    const socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
    try {
      await socket.send(buildQuery("kind-worker", 77), {
        transport: "udp",
        hostname: "::1",
        port: Number(match[1]),
      });
      const [answer] = await socket.receive();
      assert.equal(parseResponse(answer).id, 77);
    } finally {
      socket.close();
    }
    void reader.cancel();
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await upstream.close();
  }
});

Deno.test("dist/relay.js stops with status 2 and one ERROR line when a setting is missing", async () => {
  buildBundle();
  const result = await new Deno.Command(DENO, {
    args: ["run", "--unstable-net", "--allow-net", "--allow-env", "--no-config", RELAY],
    env: { KIND_DNS_RELAY_LISTEN: "::1", DENO_NO_UPDATE_CHECK: "1" },
    clearEnv: true,
  }).output();
  assert.equal(result.code, 2);
  assert.equal(
    new TextDecoder().decode(result.stderr),
    "ERROR: KIND_DNS_RELAY_UPSTREAM is not set\n",
  );
});
