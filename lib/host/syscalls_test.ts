import assert from "node:assert/strict";
import { parseMountInfoLine } from "./mountinfo.ts";
import { EXIT_MOUNT_FAILURE } from "../exit_status.ts";
import { describeFlags, describeSyscall, loadSyscalls, mountSyscalls, MS } from "./syscalls.ts";
import { onRealHost } from "../../test/support/real_host_program.ts";

// The calls below are what strace showed util-linux 2.38's mount(8) making in the test bed.

Deno.test("mountSyscalls() makes one MS_BIND call for mount --bind", () => {
  assert.deepEqual(mountSyscalls({ op: "bind", source: "/a", target: "/b" }), [
    { call: "mount", source: "/a", target: "/b", fsType: null, flags: MS.BIND, data: null },
  ]);
});

Deno.test("mountSyscalls() binds and then remounts read-only for mount -o ro,bind", () => {
  const calls = mountSyscalls({ op: "bind", source: "/kind/f", target: "/sys/f", readOnly: true });
  assert.deepEqual(calls.map(describeSyscall), [
    'mount("/kind/f", "/sys/f", NULL, MS_RDONLY|MS_BIND, NULL)',
    'mount("none", "/sys/f", NULL, MS_RDONLY|MS_REMOUNT|MS_BIND, NULL)',
  ]);
});

Deno.test("mountSyscalls() keeps sysfs's per-mount flags when remounting /sys read-only", () => {
  const sys = parseMountInfoLine(
    "119 115 0:53 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw",
  );
  assert.deepEqual(mountSyscalls({ op: "remount-ro", target: "/sys" }, sys).map(describeSyscall), [
    'mount("sysfs", "/sys", "sysfs", MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC|MS_REMOUNT|MS_RELATIME, NULL)',
  ]);
});

Deno.test("mountSyscalls() passes filesystem options as data and superblock flags as flags", () => {
  const tmpfs = parseMountInfoLine(
    "114 113 0:54 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,sync,mode=755",
  );
  const [call] = mountSyscalls({ op: "remount-ro", target: "/sys/fs/cgroup" }, tmpfs);
  assert.equal(
    describeSyscall(call),
    'mount("tmpfs", "/sys/fs/cgroup", "tmpfs", ' +
      'MS_RDONLY|MS_NOSUID|MS_NODEV|MS_NOEXEC|MS_SYNCHRONOUS|MS_REMOUNT|MS_RELATIME, "mode=755")',
  );
});

Deno.test("mountSyscalls() remounts a path that is not a mount point as mount(8) does", () => {
  // strace of `mount -o remount,ro DIR` on a plain directory: the kernel answers EINVAL.
  assert.deepEqual(mountSyscalls({ op: "remount-ro", target: "/nowhere" }).map(describeSyscall), [
    'mount("none", "/nowhere", NULL, MS_RDONLY|MS_REMOUNT, NULL)',
  ]);
});

Deno.test("mountWithSyscalls() keeps nothrow when remounting a directory that is not a mount point", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const op = { op: "remount-ro", target: dir } as const;
    const { result, stderr } = await onRealHost({ call: "mount", op, nothrow: true });
    assert.ok(result, "this test needs Deno's FFI (run with -A)");
    assert.equal(result.status, EXIT_MOUNT_FAILURE);
    assert.match(
      result.stderr,
      /^mount: .*: mount\(.*MS_REMOUNT.*\) failed: .*\((EINVAL|EPERM)\)\n$/,
    );
    // Printed where mount(8) prints it, with or without nothrow.
    assert.equal(stderr, result.stderr);
    const thrown = await onRealHost({ call: "mount", op });
    assert.equal(thrown.error?.name, "CommandError");
    assert.equal(thrown.error?.exitCode, EXIT_MOUNT_FAILURE);
    assert.equal(thrown.stderr, result.stderr);
  } finally {
    Deno.removeSync(dir);
  }
});

Deno.test("mountWithSyscalls() answers status 32 for an operation refused before any call, throwing only without nothrow", async () => {
  const refuse = "cannot read /proc/self/mountinfo";
  const op = { op: "remount-ro", target: "/sys" } as const;
  const { result, stderr } = await onRealHost({ call: "mount", op, nothrow: true, refuse });
  assert.deepEqual(result, {
    argv: ["mount", "-o", "remount,ro", "/sys"],
    status: EXIT_MOUNT_FAILURE,
    stdout: "",
    stderr: "mount: /sys: cannot read /proc/self/mountinfo\n",
    timedOut: false,
  });
  assert.equal(stderr, "mount: /sys: cannot read /proc/self/mountinfo\n");
  const thrown = await onRealHost({ call: "mount", op, refuse });
  assert.equal(thrown.error?.name, "CommandError");
  assert.equal(thrown.stderr, stderr);
  assert.ok(loadSyscalls(), "the real libc binds under deno test -A");
});

Deno.test("mountSyscalls() sets recursive propagation on the target", () => {
  const shared = mountSyscalls({ op: "propagation", target: "/", propagation: "rshared" });
  const priv = mountSyscalls({ op: "propagation", target: "/x", propagation: "rprivate" });
  assert.equal(describeSyscall(shared[0]), 'mount("none", "/", NULL, MS_REC|MS_SHARED, NULL)');
  assert.equal(describeSyscall(priv[0]), 'mount("none", "/x", NULL, MS_REC|MS_PRIVATE, NULL)');
});

Deno.test("mountSyscalls() mounts overlay with the directories as data, and umounts with no flags", () => {
  const overlay = mountSyscalls({
    op: "overlay",
    lower: "/l",
    upper: "/u",
    work: "/w",
    target: "/m",
  });
  assert.equal(
    describeSyscall(overlay[0]),
    'mount("overlay", "/m", "overlay", 0, "lowerdir=/l,upperdir=/u,workdir=/w")',
  );
  assert.deepEqual(mountSyscalls({ op: "umount", target: "/m" }), [
    { call: "umount2", target: "/m", flags: 0 },
  ]);
});

Deno.test("describeFlags() names every set flag and 0 for none", () => {
  assert.equal(describeFlags(0), "0");
  assert.equal(describeFlags(MS.REC | MS.PRIVATE), "MS_REC|MS_PRIVATE");
});
