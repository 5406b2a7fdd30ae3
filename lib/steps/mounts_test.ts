import assert from "node:assert/strict";
import { EntrypointError } from "../errors.ts";
import { fixMount, withoutSetIdBits } from "./mounts.ts";
import { FakeHost, type FakeHostOptions } from "../host/fake.ts";

const MOUNT = "/usr/bin/mount";
const UMOUNT = "/usr/bin/umount";

function node(options: FakeHostOptions = {}): FakeHost {
  return new FakeHost({
    executables: { mount: MOUNT, umount: UMOUNT },
    files: { [MOUNT]: "", [UMOUNT]: "" },
    modes: { [MOUNT]: 0o4755, [UMOUNT]: 0o6755 },
    ...options,
    commands: { [`stat -f -c %T ${MOUNT}`]: { stdout: "overlayfs\n" }, ...options.commands },
  });
}

const BINARIES_FIXED = [
  {
    type: "log",
    level: "INFO",
    message: "ensuring we can execute mount/umount even with userns-remap",
  },
  { type: "chown", path: MOUNT, uid: 0, gid: 0 },
  { type: "chown", path: UMOUNT, uid: 0, gid: 0 },
  { type: "chmod", path: MOUNT, mode: 0o755 },
  { type: "chmod", path: UMOUNT, mode: 0o755 },
  { type: "run", argv: ["stat", "-f", "-c", "%T", MOUNT] },
];

Deno.test("withoutSetIdBits() clears setuid and setgid, like chmod -s, and keeps the rest", () => {
  const cases: [number, number][] = [
    [0o4755, 0o755],
    [0o6755, 0o755],
    [0o2711, 0o711],
    [0o1777, 0o1777],
    [0o755, 0o755],
  ];
  for (const [mode, expected] of cases) assert.equal(withoutSetIdBits(mode), expected);
});

Deno.test("fixMount() fixes the binaries, remounts /sys read-only and makes / shared", async () => {
  const host = node();
  await fixMount(host, { userns: false });
  assert.deepEqual(host.events, [
    ...BINARIES_FIXED,
    { type: "log", level: "INFO", message: "remounting /sys read-only" },
    { type: "mount", argv: ["mount", "-o", "remount,ro", "/sys"] },
    { type: "log", level: "INFO", message: "making mounts shared" },
    { type: "mount", argv: ["mount", "--make-rshared", "/"] },
  ]);
});

Deno.test("fixMount() calls sync on aufs", async () => {
  const host = node({
    commands: { [`stat -f -c %T ${MOUNT}`]: { stdout: "aufs\n" }, sync: {} },
  });
  await fixMount(host, { userns: false });
  assert.deepEqual(host.events.slice(BINARIES_FIXED.length, BINARIES_FIXED.length + 3), [
    { type: "log", level: "INFO", message: "detected aufs, calling sync" },
    { type: "run", argv: ["sync"] },
    { type: "log", level: "INFO", message: "remounting /sys read-only" },
  ]);
});

Deno.test("fixMount() goes on without sync when stat fails", async () => {
  const host = node({ commands: { [`stat -f -c %T ${MOUNT}`]: { status: 1 } } });
  await fixMount(host, { userns: false });
  assert.equal(host.logs[1], "INFO: remounting /sys read-only");
});

Deno.test("fixMount() stops with status 1 when /sys cannot be remounted outside a user namespace", async () => {
  const host = node({ failingMounts: ["mount -o remount,ro /sys"] });
  await assert.rejects(fixMount(host, { userns: false }), (error: unknown) => {
    assert.ok(error instanceof EntrypointError);
    assert.equal(error.exitCode, 1);
    assert.match(error.message, /^Cannot remount \/sys read-only/);
    return true;
  });
  assert.deepEqual(host.events.at(-1), {
    type: "mount",
    argv: ["mount", "-o", "remount,ro", "/sys"],
  });
});

Deno.test("fixMount() ignores a failed /sys remount in a user namespace", async () => {
  const host = node({ failingMounts: ["mount -o remount,ro /sys"] });
  await fixMount(host, { userns: true });
  assert.deepEqual(host.logs, [
    "INFO: ensuring we can execute mount/umount even with userns-remap",
    "INFO: remounting /sys read-only",
    "INFO: UserNS: ignoring mount fail",
    "INFO: making mounts shared",
  ]);
});

Deno.test("fixMount() stops with mount's status when / cannot be made shared", async () => {
  const host = node({ failingMounts: ["mount --make-rshared /"] });
  await assert.rejects(
    fixMount(host, { userns: true }),
    (error: unknown) => error instanceof EntrypointError && error.exitCode === 32,
  );
});

Deno.test("fixMount() changes the binary it finds, then stops with status 1 when umount is missing", async () => {
  const host = node({ executables: { mount: MOUNT } });
  await assert.rejects(fixMount(host, { userns: false }), (error: unknown) => {
    assert.ok(error instanceof EntrypointError);
    assert.equal(error.exitCode, 1);
    assert.match(error.message, /chown root:root.*umount is not in PATH/);
    return true;
  });
  assert.deepEqual(host.effects, [{ type: "chown", path: MOUNT, uid: 0, gid: 0 }]);
});

Deno.test("fixMount() says when the /sys remount timed out", async () => {
  const host = node();
  host.mount = (op) =>
    Promise.resolve({ argv: [op.op], status: null, stdout: "", stderr: "", timedOut: true });
  await assert.rejects(fixMount(host, { userns: false }), {
    message: "Cannot remount /sys read-only: `mount -o remount,ro /sys` timed out",
  });
});

/** A host whose /sys remount fails with `stderr` (status 32, as mount(8)). */
function refusingRemount(stderr: string): FakeHost {
  const host = node();
  host.mount = (op) =>
    Promise.resolve({ argv: [op.op], status: 32, stdout: "", stderr, timedOut: false });
  return host;
}

Deno.test("fixMount() points to --privileged when the kernel refuses the /sys remount", async () => {
  const cases = [
    'mount: /sys: mount(NULL, "/sys", NULL, MS_REMOUNT|MS_RDONLY, NULL) failed: Operation not permitted (EPERM)\n',
    "mount: /sys: permission denied.\n",
  ];
  for (const stderr of cases) {
    await assert.rejects(fixMount(refusingRemount(stderr), { userns: false }), (error: unknown) => {
      assert.ok(error instanceof EntrypointError);
      assert.equal(error.exitCode, 1);
      assert.match(
        error.message,
        /^Cannot remount \/sys read-only: `mount -o remount,ro \/sys` exited with status 32 \((operation not permitted|permission denied)\): kind runs nodes with --privileged; see README "Try a node without kind"$/,
      );
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  }
});

Deno.test("fixMount() gives no --privileged hint when the /sys remount fails for another reason", async () => {
  const busy = "mount: /sys: mount(...) failed: Device or resource busy (EBUSY)\n";
  await assert.rejects(fixMount(refusingRemount(busy), { userns: false }), {
    message: "Cannot remount /sys read-only: `mount -o remount,ro /sys` exited with status 32",
  });
});

Deno.test("fixMount() stops with status 1 when a binary's mode cannot be read, like chmod -s, after changing the other", async () => {
  // umount is in PATH but stat fails on it: chmod reports it and still changes mount.
  const host = node({ files: { [MOUNT]: "" }, modes: { [MOUNT]: 0o4755 } });
  await assert.rejects(fixMount(host, { userns: false }), (error: unknown) => {
    assert.ok(error instanceof EntrypointError);
    assert.equal(error.exitCode, 1);
    assert.equal(
      error.message,
      `\`chmod -s\` of mount and umount failed: Cannot read the mode of ${UMOUNT}: stat failed`,
    );
    return true;
  });
  assert.deepEqual(host.effects.filter((e) => e.type === "chmod"), [
    { type: "chmod", path: MOUNT, mode: 0o755 },
  ]);
});
