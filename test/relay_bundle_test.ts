/** dist/relay.js, the relay's own bundle, run as the node's unit runs it. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseResponse } from "../lib/dns/message.ts";
import { buildBundle, DENO, REPO } from "./support/bundle.ts";
import { startFakeUpstream } from "./support/fake_upstream.ts";
import {
  askOverUdp,
  RELAY,
  RELAY_PERMISSIONS,
  startRelayProcess,
} from "./support/relay_process.ts";

Deno.test("dist/relay.js uses no Node.js module and is apart from the entrypoint's bundle", () => {
  buildBundle();
  const relay = readFileSync(RELAY, "utf8");
  assert.doesNotMatch(relay, /\bnode:|\brequire\(/);
  assert.doesNotMatch(readFileSync(join(REPO, "dist/entrypoint.js"), "utf8"), /listenDatagram/);
});

Deno.test("the relay unit gives dist/relay.js the permissions the tests give it", () => {
  const unit = readFileSync(join(REPO, "images/kind-dns-relay.service"), "utf8");
  const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1] ?? "";
  for (const flag of RELAY_PERMISSIONS) assert.ok(execStart.split(" ").includes(flag), flag);
});

Deno.test("dist/relay.js logs where it listens and relays a query", async () => {
  const upstream = startFakeUpstream();
  const relay = await startRelayProcess(upstream.port);
  try {
    assert.match(
      relay.line,
      /^INFO: relaying DNS on \[::1\]:\d+ \(UDP and TCP\) to 127\.0\.0\.1:\d+, from 127\.0\.0\.1$/,
    );
    assert.equal(parseResponse(await askOverUdp(relay.port, 77)).id, 77);
  } finally {
    await relay.stop();
    await upstream.close();
  }
});

Deno.test("dist/relay.js stops with status 2 and one ERROR line when a setting is missing", async () => {
  buildBundle();
  const result = await new Deno.Command(DENO, {
    args: ["run", ...RELAY_PERMISSIONS, "--no-config", RELAY],
    env: { KIND_DNS_RELAY_LISTEN: "::1", DENO_NO_UPDATE_CHECK: "1" },
    clearEnv: true,
  }).output();
  assert.equal(result.code, 2);
  assert.equal(
    new TextDecoder().decode(result.stderr),
    "ERROR: KIND_DNS_RELAY_UPSTREAM is not set\n",
  );
});

Deno.test("dist/relay.js closes its sockets and exits 0 on SIGTERM", async () => {
  const upstream = startFakeUpstream();
  const relay = await startRelayProcess(upstream.port);
  try {
    assert.equal(await relay.terminate(), 0);
  } finally {
    await relay.stop();
    await upstream.close();
  }
});
