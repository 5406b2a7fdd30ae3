import assert from "node:assert/strict";
import {
  COMMAND_TIMEOUT_ENV,
  commandFailure,
  createHost,
  DEFAULT_COMMAND_TIMEOUT_MS,
  parseCommandTimeout,
} from "../lib/host.ts";
import { CommandError } from "../lib/errors.ts";

/** A real host whose commands are bounded by `ms`. */
function hostWithBound(ms: number) {
  const saved = Deno.env.get(COMMAND_TIMEOUT_ENV);
  Deno.env.set(COMMAND_TIMEOUT_ENV, String(ms));
  try {
    return createHost();
  } finally {
    if (saved === undefined) Deno.env.delete(COMMAND_TIMEOUT_ENV);
    else Deno.env.set(COMMAND_TIMEOUT_ENV, saved);
  }
}

Deno.test("parseCommandTimeout() takes whole milliseconds and explains anything else", () => {
  assert.equal(parseCommandTimeout(undefined), undefined);
  assert.equal(parseCommandTimeout(""), undefined);
  assert.equal(parseCommandTimeout("1500"), 1500);
  for (const bad of ["0", "-1", "1.5", "10s", " 5", "9999999999"]) {
    const parsed = parseCommandTimeout(bad);
    assert.equal(typeof parsed, "object", bad);
    assert.match(
      (parsed as { invalid: string }).invalid,
      /^ignoring KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS=/,
    );
  }
  assert.equal(DEFAULT_COMMAND_TIMEOUT_MS, 10_000);
});

Deno.test("run() stops a hanging command at its bound and says so", async () => {
  const host = hostWithBound(300);
  const start = Date.now();
  await assert.rejects(host.run(["sleep", "30"]), (error: unknown) => {
    assert.ok(error instanceof CommandError);
    assert.equal(error.message, "Command `sleep 30` timed out after 300 ms");
    assert.equal(error.exitCode, 124);
    return true;
  });
  assert.ok(Date.now() - start < 3000, "returned within the bound and the grace period");
});

Deno.test("run() kills a command that ignores SIGTERM after the grace period", async () => {
  const host = hostWithBound(200);
  const start = Date.now();
  const result = await host.run(["bash", "-c", "trap '' TERM; sleep 30; echo survived"], {
    nothrow: true,
    stderr: "capture",
  });
  assert.equal(result.timedOut, true);
  assert.equal(result.status, null);
  assert.ok(Date.now() - start < 4000);
});

Deno.test("run() returns when a background child keeps the output pipe open", async () => {
  const host = hostWithBound(200);
  const start = Date.now();
  // setsid puts the child out of the command's process group: nothing can kill it for us.
  const result = await host.run(["bash", "-c", "setsid sleep 5 & echo started"], {
    nothrow: true,
    stderr: "capture",
  });
  assert.equal(result.timedOut, true);
  assert.ok(Date.now() - start < 4000);
});

Deno.test("run() passes every argument to the program as one word, never to a shell", async () => {
  const host = createHost();
  const nasty = [
    "$(touch /tmp/kind-entrypoint-pwned)",
    "`id`",
    "a'b\"c",
    "two\nlines",
    "tab\there",
    "*",
    "; rm -rf /nonexistent",
    "back\\slash",
    "",
    "ünïcode ✓",
    "\u0001\u007f",
  ];
  const { stdout } = await host.run(["printf", "%s\\0", ...nasty]);
  assert.deepEqual(stdout.split("\0").slice(0, -1), nasty);
  assert.equal(createHost().kind("/tmp/kind-entrypoint-pwned"), undefined);
});

Deno.test("run() keeps the default bound without the variable and with an invalid one", async () => {
  const saved = Deno.env.get(COMMAND_TIMEOUT_ENV);
  Deno.env.set(COMMAND_TIMEOUT_ENV, "soon");
  try {
    const host = createHost();
    const result = await host.run(["true"]);
    assert.equal(result.status, 0);
  } finally {
    if (saved === undefined) Deno.env.delete(COMMAND_TIMEOUT_ENV);
    else Deno.env.set(COMMAND_TIMEOUT_ENV, saved);
  }
});

Deno.test("run() reports the status of a command that exits without reading its input", async () => {
  const host = createHost();
  // more than a pipe buffer, so the write is still going on when the program has exited
  const input = "x".repeat(4 << 20);
  for (let i = 0; i < 5; i++) {
    const result = await host.run(["sh", "-c", "exit 3"], { input, nothrow: true });
    assert.equal(result.status, 3);
  }
  await assert.rejects(host.run(["sh", "-c", "exit 3"], { input }), { exitCode: 3 });
});

Deno.test("commandFailure() says a command timed out even when the bound is not known", () => {
  const result = { argv: ["nft", "list"], status: null, stdout: "", stderr: "", timedOut: true };
  assert.equal(commandFailure(result).message, "Command `nft list` timed out");
  assert.equal(commandFailure(result, 1500).message, "Command `nft list` timed out after 1500 ms");
  assert.equal(commandFailure(result).exitCode, 124);
});
