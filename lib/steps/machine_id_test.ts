import assert from "node:assert/strict";
import { EntrypointError } from "../errors.ts";
import type { RunOptions } from "../host/host.ts";
import { fixMachineId } from "./machine_id.ts";
import { FakeHost, type FakeHostOptions } from "../host/fake.ts";

/** A FakeHost that also keeps the options of each command. */
class OptionsHost extends FakeHost {
  readonly runOptions: RunOptions[] = [];
  constructor(options: FakeHostOptions) {
    super(options);
  }
  override run(argv: readonly string[], options: RunOptions = {}) {
    this.runOptions.push(options);
    return super.run(argv, options);
  }
}

Deno.test("fixMachineId() removes the image's id and forwards systemd-machine-id-setup's output", async () => {
  const host = new OptionsHost({
    files: { "/etc/machine-id": "0123456789abcdef0123456789abcdef\n" },
    commands: {
      "systemd-machine-id-setup": { stdout: "Initializing machine ID from random generator.\n" },
    },
  });
  await fixMachineId(host);
  assert.deepEqual(host.events, [
    { type: "log", level: "INFO", message: "clearing and regenerating /etc/machine-id" },
    { type: "remove", path: "/etc/machine-id" },
    { type: "run", argv: ["systemd-machine-id-setup"] },
  ]);
  assert.equal(host.runOptions[0].stdout, "forward");
  assert.equal(host.runOptions[0].nothrow, undefined);
});

Deno.test("fixMachineId() stops with the status of a failed systemd-machine-id-setup", async () => {
  const host = new FakeHost({ commands: { "systemd-machine-id-setup": { status: 1 } } });
  await assert.rejects(
    fixMachineId(host),
    (error: unknown) => error instanceof EntrypointError && error.exitCode === 1,
  );
});

Deno.test("fixMachineId() stops with status 127 when systemd-machine-id-setup is missing", async () => {
  const host = new FakeHost();
  await assert.rejects(fixMachineId(host), (error: unknown) => {
    assert.ok(error instanceof EntrypointError);
    assert.equal(error.exitCode, 127);
    return true;
  });
});
