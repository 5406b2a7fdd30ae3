import assert from "node:assert/strict";
import { EntrypointError } from "../errors.ts";
import type { RunOptions } from "../host/host.ts";
import {
  environValue,
  fixMachineId,
  MACHINE_ID_SETUP,
  PID1_ENVIRON,
  randomMachineId,
} from "./machine_id.ts";
import { RANDOM_UUID } from "./product.ts";
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

Deno.test("fixMachineId() runs systemd-machine-id-setup and forwards its output when it cannot tell what the program would write", async () => {
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

const UUID = "a8098c1a-f86e-41da-be1d-4f5b7c6d2e3f\n";
const IN_DOCKER = "PATH=/usr/bin\0container=docker\0HOME=/root\0";

/** A node where systemd-machine-id-setup would make a random id. */
function nodeHost(options: FakeHostOptions = {}): FakeHost {
  return new FakeHost({
    files: { "/etc/machine-id": "", [PID1_ENVIRON]: IN_DOCKER, [RANDOM_UUID]: UUID },
    executables: { [MACHINE_ID_SETUP]: "/usr/bin/systemd-machine-id-setup" },
    ...options,
  });
}

Deno.test("fixMachineId() writes a random id itself, 0444 and synced like the program's, and prints the program's line, where the program would make a random one", async () => {
  const host = nodeHost();
  await fixMachineId(host);
  assert.deepEqual(host.events, [
    { type: "log", level: "INFO", message: "clearing and regenerating /etc/machine-id" },
    { type: "remove", path: "/etc/machine-id" },
    {
      type: "write",
      path: "/etc/machine-id",
      data: "a8098c1af86e41dabe1d4f5b7c6d2e3f\n",
      durable: true,
      mode: 0o444,
    },
    { type: "chmod", path: "/etc/machine-id", mode: 0o444 },
    { type: "echo", line: "Initializing machine ID from random generator." },
  ]);
});

Deno.test("fixMachineId() leaves a container_uuid of PID 1 to systemd-machine-id-setup", async () => {
  const host = nodeHost({
    files: {
      [PID1_ENVIRON]: `${IN_DOCKER}container_uuid=0123456789abcdef0123456789abcdef\0`,
      [RANDOM_UUID]: UUID,
    },
    commands: { [MACHINE_ID_SETUP]: {} },
  });
  await fixMachineId(host);
  assert.deepEqual(host.effects.at(-1), { type: "run", argv: [MACHINE_ID_SETUP] });
  assert.equal(host.files.has("/etc/machine-id"), false);
});

Deno.test("fixMachineId() stops with status 127 when systemd-machine-id-setup is missing, even where it could write the id", async () => {
  const host = nodeHost({ executables: {} });
  await assert.rejects(
    fixMachineId(host),
    (error: unknown) => error instanceof EntrypointError && error.exitCode === 127,
  );
});

Deno.test("fixMachineId() runs a systemd-machine-id-setup that PATH finds elsewhere than systemd's", async () => {
  const host = nodeHost({
    executables: { [MACHINE_ID_SETUP]: "/usr/local/bin/systemd-machine-id-setup" },
    commands: { [MACHINE_ID_SETUP]: {} },
  });
  await fixMachineId(host);
  assert.deepEqual(host.effects.at(-1), { type: "run", argv: [MACHINE_ID_SETUP] });
});

Deno.test("fixMachineId() runs systemd-machine-id-setup when its own write fails", async () => {
  class ReadOnlyEtc extends FakeHost {
    override writeText(path: string, data: string) {
      if (path.startsWith("/etc/")) throw new EntrypointError(`Cannot write ${path}: read-only`);
      super.writeText(path, data);
    }
  }
  const host = new ReadOnlyEtc({
    files: { [PID1_ENVIRON]: IN_DOCKER, [RANDOM_UUID]: UUID },
    executables: { [MACHINE_ID_SETUP]: "/usr/bin/systemd-machine-id-setup" },
    commands: { [MACHINE_ID_SETUP]: {} },
  });
  await fixMachineId(host);
  assert.deepEqual(host.effects.at(-1), { type: "run", argv: [MACHINE_ID_SETUP] });
  assert.equal(host.events.some((e) => e.type === "echo"), false);
});

Deno.test("randomMachineId() is the UUID's hex digits in a container that passes no container_uuid", () => {
  assert.equal(randomMachineId(IN_DOCKER, UUID), "a8098c1af86e41dabe1d4f5b7c6d2e3f");
  assert.equal(
    randomMachineId("container=podman", UUID.trim()),
    "a8098c1af86e41dabe1d4f5b7c6d2e3f",
  );
});

Deno.test("randomMachineId() leaves the id to the program outside a container, with a container_uuid, or without a v4 UUID", () => {
  assert.equal(randomMachineId("PATH=/usr/bin\0", UUID), undefined);
  assert.equal(randomMachineId("container=\0", UUID), undefined);
  assert.equal(randomMachineId(`${IN_DOCKER}container_uuid=x\0`, UUID), undefined);
  assert.equal(randomMachineId(IN_DOCKER, "a8098c1a-f86e-11da-be1d-4f5b7c6d2e3f\n"), undefined);
  assert.equal(randomMachineId(IN_DOCKER, "not a uuid"), undefined);
});

Deno.test("environValue() finds a variable of a NUL-separated environment by its whole name", () => {
  assert.equal(environValue("container_uuid=1\0container=docker\0", "container"), "docker");
  assert.equal(environValue("a=b=c\0", "a"), "b=c");
  assert.equal(environValue("containers=x\0", "container"), undefined);
});

const PROGRAM = ["/usr/bin", "/bin"].map((dir) => `${dir}/${MACHINE_ID_SETUP}`).find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

Deno.test({
  name:
    "fixMachineId() leaves the file, mode and line systemd-machine-id-setup leaves for a random id",
  ignore: PROGRAM === undefined, // systemd-machine-id-setup is not installed on this machine
  async fn() {
    const root = Deno.makeTempDirSync();
    try {
      Deno.mkdirSync(`${root}/etc`);
      // --root: the program makes a random id there, as it does in a container without container_uuid.
      const program = new Deno.Command(PROGRAM!, { args: [`--root=${root}`] }).outputSync();
      assert.equal(program.code, 0);
      const written = Deno.readTextFileSync(`${root}/etc/machine-id`);
      const mode = Deno.statSync(`${root}/etc/machine-id`).mode! & 0o7777;
      const printed = new TextDecoder().decode(program.stderr);

      const host = nodeHost({
        files: { [PID1_ENVIRON]: IN_DOCKER, [RANDOM_UUID]: Deno.readTextFileSync(RANDOM_UUID) },
      });
      await fixMachineId(host);
      const ours = host.files.get("/etc/machine-id")!;
      const v4Id = /^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}\n$/;
      assert.match(written, v4Id);
      assert.match(ours, v4Id);
      assert.equal(host.modes.get("/etc/machine-id"), mode);
      assert.deepEqual(
        host.events.flatMap((e) => e.type === "echo" ? [`${e.line}\n`] : []),
        [printed],
      );
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  },
});
