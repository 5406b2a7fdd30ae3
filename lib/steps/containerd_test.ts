import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import {
  chooseSnapshotter,
  configureContainerd,
  CONTAINERD_CONFIG,
  enableRestrictOomScoreAdj,
  hasSelinuxType,
  isSnapshotterName,
  OVERLAY_USERNS_PARAMETER,
  overlayfsPreferable,
  replaceSnapshotter,
  SELINUX_LABEL,
} from "./containerd.ts";
import { EntrypointError } from "../errors.ts";
import type { FakeCommand } from "../host/fake.ts";
import { FakeHost, type FakeHostOptions } from "../host/fake.ts";

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/testdata/containerd/${name}`, import.meta.url), "utf8");

const TMP = "/tmp/tmp.Q3bXrMkq1v";
const TRIAL_MOUNT =
  `mount -t overlay -o lowerdir=${TMP}/l,upperdir=${TMP}/u,workdir=${TMP}/w overlay ${TMP}/m`;

function node(options: FakeHostOptions & { filesystem?: string } = {}): FakeHost {
  const commands: Record<string, FakeCommand> = {
    "stat -f -c %T /kind": { stdout: `${options.filesystem ?? "overlayfs"}\n` },
    "mktemp -d": { stdout: `${TMP}\n` },
    mkdir: {},
    rm: {},
    systemctl: { stdout: "" },
    ...options.commands,
  };
  return new FakeHost({
    ...options,
    files: { [CONTAINERD_CONFIG]: fixture("config.toml"), ...options.files },
    commands,
  });
}

const never = () => Promise.reject(new Error("overlayfs trial must not run"));

Deno.test("chooseSnapshotter() follows kind's precedence", async () => {
  const cases: [
    string,
    { override?: string; filesystem: string; userns: boolean },
    boolean,
    string | undefined,
  ][] = [
    ["an override wins", { override: "stargz", filesystem: "zfs", userns: true }, false, "stargz"],
    ["zfs takes native", { filesystem: "zfs", userns: true }, false, "native"],
    ["FUSE takes fuse-overlayfs", { filesystem: "fuseblk", userns: false }, true, "fuse-overlayfs"],
    [
      "overlayfs stays outside userns",
      { filesystem: "overlayfs", userns: false },
      false,
      undefined,
    ],
    [
      "userns keeps overlayfs that works",
      { filesystem: "ext2/ext3", userns: true },
      true,
      undefined,
    ],
    [
      "userns without overlayfs",
      { filesystem: "overlayfs", userns: true },
      false,
      "fuse-overlayfs",
    ],
    [
      "an empty override chooses",
      { override: "", filesystem: "zfs", userns: false },
      true,
      "native",
    ],
    ["btrfs is not special", { filesystem: "btrfs", userns: false }, true, undefined],
  ];
  for (const [what, inputs, works, expected] of cases) {
    const chosen = await chooseSnapshotter(
      { override: inputs.override, filesystem: inputs.filesystem, userns: inputs.userns },
      () => Promise.resolve(works),
    );
    assert.equal(chosen, expected, what);
  }
});

Deno.test("chooseSnapshotter() tries overlayfs only in a user namespace on other filesystems", async () => {
  for (const filesystem of ["zfs", "fuseblk", "overlayfs"]) {
    await chooseSnapshotter({ override: undefined, filesystem, userns: false }, never);
  }
  await chooseSnapshotter({ override: undefined, filesystem: "zfs", userns: true }, never);
  await chooseSnapshotter({ override: "native", filesystem: "", userns: true }, never);
});

Deno.test("the config edits give what kind's sed gives on a node image's config.toml", () => {
  const config = fixture("config.toml");
  assert.equal(enableRestrictOomScoreAdj(config), fixture("config.userns.toml"));
  assert.equal(replaceSnapshotter(config, "native"), fixture("config.native.toml"));
  assert.equal(
    replaceSnapshotter(enableRestrictOomScoreAdj(config), "fuse-overlayfs"),
    fixture("config.userns-fuse.toml"),
  );
});

const SED_INPUT =
  'snapshotter = "overlayfs" snapshotter = "overlayfs"\nx\nsnapshotter = "overlayfs"';

Deno.test("replaceSnapshotter() replaces the first match of each line and keeps a missing final newline, as GNU sed does", () => {
  // GNU sed 4.9's output for SED_INPUT (checked against the program by the next test).
  assert.equal(
    replaceSnapshotter(SED_INPUT, "native"),
    'snapshotter = "native" snapshotter = "overlayfs"\nx\nsnapshotter = "native"',
  );
});

const HAS_GNU_SED = (() => {
  try {
    return execFileSync("sed", ["--version"], { encoding: "utf8" }).split("\n")[0].includes(
      "(GNU sed)",
    );
  } catch {
    return false;
  }
})();
if (!HAS_GNU_SED) console.log("the comparison with GNU sed is skipped: no GNU sed on PATH");

Deno.test({
  name:
    "replaceSnapshotter() gives what GNU sed itself gives on repeated matches and a missing final newline",
  ignore: !HAS_GNU_SED,
  fn() {
    const sed = execFileSync("sed", ['s/snapshotter = "overlayfs"/snapshotter = "native"/'], {
      input: SED_INPUT,
      encoding: "utf8",
    });
    assert.equal(replaceSnapshotter(SED_INPUT, "native"), sed);
  },
});

Deno.test("replaceSnapshotter() writes names with &, / and \\ literally (kind's sed would not)", () => {
  assert.equal(
    replaceSnapshotter('  snapshotter = "overlayfs"\n', "a&b/c\\d"),
    '  snapshotter = "a&b/c\\d"\n',
  );
});

Deno.test("hasSelinuxType() spots an SELinux type in a process label", () => {
  assert.equal(hasSelinuxType("system_u:system_r:container_t:s0:c1,c2\0"), true);
  assert.equal(hasSelinuxType("unconfined\n"), false);
  assert.equal(hasSelinuxType(""), false);
});

Deno.test("configureContainerd() leaves overlayfs alone on a normal node", async () => {
  const host = node();
  await configureContainerd(host, { userns: false });
  assert.deepEqual(host.events, [{ type: "run", argv: ["stat", "-f", "-c", "%T", "/kind"] }]);
});

Deno.test("configureContainerd() switches to native on zfs", async () => {
  const host = node({ filesystem: "zfs" });
  await configureContainerd(host, { userns: false });
  assert.deepEqual(host.events, [
    { type: "run", argv: ["stat", "-f", "-c", "%T", "/kind"] },
    { type: "log", level: "INFO", message: 'changing snapshotter from "overlayfs" to "native"' },
    { type: "write", path: CONTAINERD_CONFIG, data: fixture("config.native.toml"), atomic: true },
  ]);
});

Deno.test("configureContainerd() on FUSE switches to fuse-overlayfs and enables its service", async () => {
  const host = node({ filesystem: "fuseblk" });
  await configureContainerd(host, { userns: false });
  assert.deepEqual(host.events.slice(1), [
    {
      type: "log",
      level: "INFO",
      message: 'changing snapshotter from "overlayfs" to "fuse-overlayfs"',
    },
    {
      type: "write",
      path: CONTAINERD_CONFIG,
      data: replaceSnapshotter(fixture("config.toml"), "fuse-overlayfs"),
      atomic: true,
    },
    { type: "log", level: "INFO", message: "enabling containerd-fuse-overlayfs service" },
    { type: "run", argv: ["systemctl", "enable", "containerd-fuse-overlayfs"] },
  ]);
});

Deno.test("configureContainerd() takes KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER without stat", async () => {
  const host = node({ env: { KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER: "native" } });
  await configureContainerd(host, { userns: false });
  assert.deepEqual(host.events, [
    { type: "log", level: "INFO", message: 'changing snapshotter from "overlayfs" to "native"' },
    { type: "write", path: CONTAINERD_CONFIG, data: fixture("config.native.toml"), atomic: true },
  ]);
});

Deno.test("configureContainerd() in a user namespace tries overlayfs, then restricts OOM scores", async () => {
  const host = node();
  await configureContainerd(host, { userns: true });
  assert.deepEqual(host.events, [
    { type: "run", argv: ["stat", "-f", "-c", "%T", "/kind"] },
    { type: "run", argv: ["mktemp", "-d"] },
    { type: "run", argv: ["mkdir", "-p", `${TMP}/l`, `${TMP}/u`, `${TMP}/w`, `${TMP}/m`] },
    { type: "mount", argv: TRIAL_MOUNT.split(" ") },
    { type: "mount", argv: ["umount", `${TMP}/m`] },
    { type: "run", argv: ["rm", "-rf", TMP] },
    { type: "write", path: CONTAINERD_CONFIG, data: fixture("config.userns.toml"), atomic: true },
  ]);
});

Deno.test("configureContainerd() in a user namespace without overlayfs edits the config twice, like kind", async () => {
  const host = node({ failingMounts: [TRIAL_MOUNT] });
  await configureContainerd(host, { userns: true });
  assert.deepEqual(host.events.slice(3), [
    { type: "mount", argv: TRIAL_MOUNT.split(" ") },
    { type: "log", level: "INFO", message: "UserNS: kernel does not seem to support overlayfs." },
    { type: "run", argv: ["rm", "-rf", TMP] },
    { type: "write", path: CONTAINERD_CONFIG, data: fixture("config.userns.toml"), atomic: true },
    {
      type: "log",
      level: "INFO",
      message: 'changing snapshotter from "overlayfs" to "fuse-overlayfs"',
    },
    {
      type: "write",
      path: CONTAINERD_CONFIG,
      data: fixture("config.userns-fuse.toml"),
      atomic: true,
    },
    { type: "log", level: "INFO", message: "enabling containerd-fuse-overlayfs service" },
    { type: "run", argv: ["systemctl", "enable", "containerd-fuse-overlayfs"] },
  ]);
});

Deno.test("overlayfsPreferable() avoids overlayfs on kernels with permit_mounts_in_userns", async () => {
  const host = node({ files: { [OVERLAY_USERNS_PARAMETER]: "N\n" } });
  assert.equal(await overlayfsPreferable(host), false);
  assert.deepEqual(host.logs, [
    "INFO: UserNS: kernel seems supporting overlayfs with permit_mounts_in_userns, but avoiding due to instability.",
  ]);
  assert.deepEqual(host.effects, []);
});

Deno.test("overlayfsPreferable() warns about SELinux after a successful trial", async () => {
  const host = node({ files: { [SELINUX_LABEL]: "system_u:system_r:container_t:s0\0" } });
  assert.equal(await overlayfsPreferable(host), true);
  assert.deepEqual(host.logs, [
    "WARN: UserNS: SELinux might be Enforcing. If you see an error related to overlayfs, try setting `KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER=fuse-overlayfs` .",
  ]);
});

Deno.test("overlayfsPreferable() tolerates failed cleanup, as kind's bash runs it without errexit", async () => {
  const host = node({
    failingMounts: [`umount ${TMP}/m`],
    commands: { rm: { status: 1 }, mkdir: { status: 1 } },
  });
  assert.equal(await overlayfsPreferable(host), true);
});

Deno.test("configureContainerd() stops with stat's status when /kind is missing", async () => {
  const host = node({
    commands: {
      "stat -f -c %T /kind": {
        status: 1,
        stderr:
          "stat: cannot read file system information for '/kind': No such file or directory\n",
      },
    },
  });
  await assert.rejects(configureContainerd(host, { userns: false }), (error: unknown) => {
    assert.ok(error instanceof EntrypointError);
    assert.equal(error.exitCode, 1);
    assert.match(error.message, /stat -f -c %T \/kind/);
    return true;
  });
});

Deno.test("configureContainerd() stops with sed's status 2 when config.toml is missing", async () => {
  const host = node({ filesystem: "zfs" });
  host.files.delete(CONTAINERD_CONFIG);
  await assert.rejects(configureContainerd(host, { userns: false }), (error: unknown) => {
    assert.ok(error instanceof EntrypointError);
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /Cannot read \/etc\/containerd\/config.toml/);
    return true;
  });
  // kind logs the change before its sed fails.
  assert.deepEqual(host.logs, ['INFO: changing snapshotter from "overlayfs" to "native"']);
});

Deno.test("configureContainerd() stops with sed's status 4 when config.toml cannot be written", async () => {
  const host = node({ filesystem: "zfs" });
  // sed -i on a read-only file system: it reads the file, then cannot write its copy.
  host.writeText = (file) => {
    throw new EntrypointError(`Cannot write ${file}: read-only file system`);
  };
  await assert.rejects(configureContainerd(host, { userns: false }), (error: unknown) => {
    assert.ok(error instanceof EntrypointError);
    assert.equal(error.exitCode, 4);
    assert.equal(error.message, `Cannot write ${CONTAINERD_CONFIG}: read-only file system`);
    return true;
  });
});

Deno.test("configureContainerd() stops with systemctl's status when the service cannot be enabled", async () => {
  const host = node({ filesystem: "fuseblk", commands: { systemctl: { status: 1 } } });
  await assert.rejects(
    configureContainerd(host, { userns: false }),
    (error: unknown) => error instanceof EntrypointError && error.exitCode === 1,
  );
});

Deno.test("configureContainerd() refuses a snapshotter that is not a plain name and leaves config.toml", async () => {
  for (const value of ['native"\n[plugins.x]', "a/b", "a&b", "$(id)", "a\\b", "-x", "a b"]) {
    const host = node({ env: { KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER: value } });
    await assert.rejects(configureContainerd(host, { userns: false }), (error: unknown) => {
      assert.ok(error instanceof EntrypointError);
      assert.equal(error.exitCode, 1);
      assert.equal(
        error.message,
        `KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER must be a snapshotter name (letters, digits, ".", "_", "-"), got ${
          JSON.stringify(value)
        }; /etc/containerd/config.toml was left as it was`,
      );
      return true;
    });
    assert.deepEqual(host.effects, [], value);
  }
});

Deno.test("isSnapshotterName() accepts containerd's snapshotter names", () => {
  for (const name of ["overlayfs", "native", "fuse-overlayfs", "stargz", "zfs", "io.x_y-2"]) {
    assert.ok(isSnapshotterName(name), name);
  }
});
