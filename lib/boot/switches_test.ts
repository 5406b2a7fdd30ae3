import assert from "node:assert/strict";
import { EntrypointError } from "../errors.ts";
import { readSwitches as readSwitchesOf, SWITCHES } from "./switches.ts";
import { STEPS } from "./steps.ts";

/** The switches as kind's entrypoint reads them. */
function readSwitches(env: Record<string, string | undefined>) {
  return readSwitchesOf(env, STEPS);
}

function refused(env: Record<string, string>): string {
  try {
    readSwitches(env);
  } catch (error) {
    assert.ok(error instanceof EntrypointError);
    assert.equal(error.exitCode, 1);
    return error.message;
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
}

Deno.test("readSwitches() turns the dry run and the trace on with 1 only", () => {
  assert.deepEqual(readSwitches({ KIND_ENTRYPOINT_DRY_RUN: "1", KIND_ENTRYPOINT_TRACE: "1" }), {
    KIND_ENTRYPOINT_DRY_RUN: true,
    KIND_ENTRYPOINT_TRACE: true,
  });
  // Set to empty is the same as unset.
  assert.deepEqual(readSwitches({ KIND_ENTRYPOINT_DRY_RUN: "", PATH: "/bin" }), {});
  for (const value of ["on", "2", "false", "0", "true", "yes", " 1", "1\n"]) {
    assert.equal(
      refused({ KIND_ENTRYPOINT_DRY_RUN: value }),
      `KIND_ENTRYPOINT_DRY_RUN=${
        JSON.stringify(value)
      } is not understood (only 1 turns it on; accepted: 1, or unset); nothing was changed`,
    );
    assert.match(refused({ KIND_ENTRYPOINT_TRACE: value }), /^KIND_ENTRYPOINT_TRACE=/);
  }
});

Deno.test("readSwitches() refuses a KIND_ENTRYPOINT_* name it does not know, such as a typo", () => {
  assert.equal(
    refused({ KIND_ENTRYPOINT_DRYRUN: "1" }),
    "KIND_ENTRYPOINT_DRYRUN is not a variable of this entrypoint (did you mean KIND_ENTRYPOINT_DRY_RUN?); nothing was changed",
  );
  assert.equal(
    refused({ KIND_ENTRYPOINT_X: "", KIND_ENTRYPOINT_A: "1" }),
    `KIND_ENTRYPOINT_A is not a variable of this entrypoint (known: ${
      Object.keys(SWITCHES).join(", ")
    }); nothing was changed`,
  );
  // Other prefixes are not ours to judge.
  assert.deepEqual(readSwitches({ KIND_ENTRYPOINTS: "1", KIND_DNS_SEARCH: "x" }), {});
});

Deno.test("readSwitches() refuses the diagnosis with the dry run: the diagnosis makes a namespace and a veth", () => {
  assert.equal(
    refused({ KIND_ENTRYPOINT_DIAGNOSE: "1", KIND_ENTRYPOINT_DRY_RUN: "1" }),
    "KIND_ENTRYPOINT_DIAGNOSE and KIND_ENTRYPOINT_DRY_RUN cannot be combined: the diagnosis makes a network namespace and a veth pair for its pod probe (and removes them), which a dry run must not; nothing was changed",
  );
  assert.match(
    refused({ KIND_ENTRYPOINT_DIAGNOSE: "json", KIND_ENTRYPOINT_DRY_RUN: "1" }),
    /cannot be combined/,
  );
  // Each alone is fine.
  assert.deepEqual(readSwitches({ KIND_ENTRYPOINT_DIAGNOSE: "json" }), {
    KIND_ENTRYPOINT_DIAGNOSE: "json",
  });
});

Deno.test("readSwitches() takes a command bound in whole milliseconds and refuses anything else", () => {
  assert.deepEqual(readSwitches({ KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS: "1500" }), {
    KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS: 1500,
  });
  for (const bad of ["0", "-1", "1.5", "10s", " 5", "9999999999", "soon"]) {
    assert.equal(
      refused({ KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS: bad }),
      `KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS=${
        JSON.stringify(bad)
      } is not understood (not a whole number in that range; accepted: a whole number of milliseconds between 1 and 999999999); nothing was changed`,
    );
  }
});

Deno.test("readSwitches() checks KIND_ENTRYPOINT_STEPS names and reads the launcher's list", () => {
  assert.deepEqual(readSwitches({ KIND_ENTRYPOINT_STEPS: "proxy, mount" }), {
    KIND_ENTRYPOINT_STEPS: new Set(["proxy", "mount"]),
  });
  assert.deepEqual(readSwitches({ KIND_ENTRYPOINT_STEPS: "none" }), {
    KIND_ENTRYPOINT_STEPS: new Set(),
  });
  assert.match(
    refused({ KIND_ENTRYPOINT_STEPS: "proxy,mnt" }),
    /^KIND_ENTRYPOINT_STEPS="proxy,mnt" is not understood \(KIND_ENTRYPOINT_STEPS names unknown steps: mnt /,
  );
  assert.deepEqual(readSwitches({ KIND_ENTRYPOINT_LAUNCHER_ENV: "DENO_DIR  DENO_X" }), {
    KIND_ENTRYPOINT_LAUNCHER_ENV: ["DENO_DIR", "DENO_X"],
  });
});

Deno.test("the bundle refuses an unknown switch value with one ERROR line before any step", () => {
  const bundle = new URL("../../dist/entrypoint.js", import.meta.url).pathname;
  for (
    const [name, value, error] of [
      [
        "KIND_ENTRYPOINT_DRY_RUN",
        "on",
        'ERROR: KIND_ENTRYPOINT_DRY_RUN="on" is not understood (only 1 turns it on; accepted: 1, or unset); nothing was changed\n',
      ],
      [
        "KIND_ENTRYPOINT_DRYRUN",
        "1",
        "ERROR: KIND_ENTRYPOINT_DRYRUN is not a variable of this entrypoint (did you mean KIND_ENTRYPOINT_DRY_RUN?); nothing was changed\n",
      ],
    ]
  ) {
    // KIND_ENTRYPOINT_STEPS=none: should the check fail open, no step runs on this machine.
    const out = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", bundle, "true"],
      env: { [name]: value, KIND_ENTRYPOINT_STEPS: "none", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    assert.equal(new TextDecoder().decode(out.stderr), error);
    assert.equal(new TextDecoder().decode(out.stdout), "");
    assert.equal(out.code, 1);
  }
});
