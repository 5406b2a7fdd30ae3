import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import {
  applyCgroupFixes,
  boundCgroupHierarchies,
  capturedLines,
  cgroupBindMountSpans,
  type CgroupFixOptions,
  cpuCgroupPaths,
  fixCgroup,
  linesWithout,
  mentionsAny,
  mountPointsOf,
} from "./cgroups.ts";
import { createDryRun } from "../host/dry_run.ts";
import { CommandError, EntrypointError } from "../errors.ts";
import { findmntSourceTargetLines, parseMountInfo } from "../host/mountinfo.ts";
import { type FakeEvent, FakeHost, type FakeHostOptions } from "../host/fake.ts";

const TESTDATA = new URL("../../test/testdata/", import.meta.url).pathname;

function testdata(file: string): string {
  return fs.readFileSync(path.join(TESTDATA, file), "utf8");
}

/** The output of `bash -c SCRIPT` in the C locale (plus `env`), or undefined without bash. */
function shell(script: string, env: Record<string, string> = {}): string | undefined {
  try {
    return execFileSync("bash", ["-c", script], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C", ...env },
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    const status = (error as { status?: number }).status;
    // 1: grep found nothing. 141: with pipefail, findmnt killed by SIGPIPE when a grep that
    // matches nothing exits before findmnt has written everything (a race, not a difference).
    if (status === 1 || status === 141) return (error as { stdout: string }).stdout;
    throw error;
  }
}

/**
 * The pipelines kind's bash runs are read from the original itself (KIND_ORIGINAL_ENTRYPOINT),
 * never copied here: the command inside the first `$(...)` of the first line that holds every
 * word of `words` and none of `without`. Undefined without the original.
 */
function originalCommand(words: string[], without: string[] = []): string | undefined {
  const file = Deno.env.get("KIND_ORIGINAL_ENTRYPOINT");
  if (!file) return undefined;
  const line = fs.readFileSync(file, "utf8").split("\n").find((text) =>
    text.includes("$(") && words.every((w) => text.includes(w)) &&
    !without.some((w) => text.includes(w))
  );
  if (line === undefined) throw new Error(`no line with ${words.join(", ")} in ${file}`);
  const start = line.indexOf("$(") + 2;
  let depth = 1;
  let quote = "";
  for (let i = start; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return line.slice(start, i);
  }
  throw new Error(`unbalanced $(...) in ${file}: ${line}`);
}

/** A function of the original, for pipelines that call it. */
function originalFunction(name: string): string {
  const lines = fs.readFileSync(Deno.env.get("KIND_ORIGINAL_ENTRYPOINT")!, "utf8").split("\n");
  const first = lines.findIndex((line) => line.startsWith(`${name}()`));
  const last = lines.findIndex((line, i) => i > first && line === "}");
  return lines.slice(first, last + 1).join("\n");
}

const HAVE_TOOLS = shell("command -v findmnt grep cut awk >/dev/null && echo yes") === "yes\n";
/** Why the comparisons with kind's own pipelines do not run, or undefined when they do. */
const PIPELINES_SKIP = !HAVE_TOOLS
  ? "findmnt, grep, cut or awk missing"
  : Deno.env.get("KIND_ORIGINAL_ENTRYPOINT") === undefined
  ? "KIND_ORIGINAL_ENTRYPOINT is not set"
  : undefined;
if (PIPELINES_SKIP) {
  console.log(`cgroups_test: skipping the comparisons with kind's pipelines: ${PIPELINES_SKIP}`);
}
const CGROUP_FIXTURES = fs.readdirSync(path.join(TESTDATA, "cgroup")).filter((f) =>
  !f.startsWith("proc-cgroups")
).sort();
const MOUNTINFO_FIXTURES = fs.readdirSync(path.join(TESTDATA, "mountinfo")).sort();

// ---------------------------------------------------------------------------------------------
// The shell idioms, each against the real tools on every fixture.

Deno.test("cpuCgroupPaths() takes the cpu controller's paths, as kind's bash captures them", () => {
  const cases: [string, string | undefined][] = [
    ["4:cpu,cpuacct:/docker/abc\n", "/docker/abc"],
    ["4:cpuacct,cpu:/reversed\n", "/reversed"],
    ["4:cpu:/\n0::/\n", "/"],
    ["3:cpuset:/a\n2:name=cpu:/b\n", undefined],
    ["4:cpu,cpuacct,extra:/three\n", undefined],
    ["4:cpu:/with:colon\n", "/with"],
    ["4:cpu:/a\n5:cpuacct,cpu:/b\n", "/a\n/b"],
    ["4:cpu:/a\n5:cpu:\n", "/a"],
    ["4:cpu:/no-newline", "/no-newline"],
    ["0::/\n", undefined],
    ["", undefined],
  ];
  for (const [text, expected] of cases) {
    assert.equal(cpuCgroupPaths(text)?.join("\n"), expected, text);
  }
});

for (const name of CGROUP_FIXTURES) {
  Deno.test({
    name: `cpuCgroupPaths() agrees with kind's grep and cut on cgroup/${name}`,
    ignore: PIPELINES_SKIP !== undefined,
    fn() {
      const file = path.join(TESTDATA, "cgroup", name);
      const command = originalCommand(["/proc/self/cgroup"])!.replace(
        "/proc/self/cgroup",
        '"$FILE"',
      );
      const real = shell(`x=$(${command}) && printf %s "$x"`, { FILE: file });
      assert.equal(cpuCgroupPaths(testdata(`cgroup/${name}`))?.join("\n") ?? "", real);
    },
  });
}

for (const name of MOUNTINFO_FIXTURES) {
  Deno.test({
    name: `cgroupBindMountSpans() agrees with kind's grep -o on mountinfo/${name}`,
    ignore: PIPELINES_SKIP !== undefined,
    fn() {
      const file = path.join(TESTDATA, "mountinfo", name);
      const command = originalCommand(["/proc/self/mountinfo"])!
        .replace("/proc/self/mountinfo", '"$FILE"');
      const real = shell(command, { FILE: file });
      const ours = cgroupBindMountSpans(
        parseMountInfo(testdata(`mountinfo/${name}`)).map((m) => m.line),
      );
      assert.equal(ours.map((m) => m + "\n").join(""), real);
    },
  });
}

Deno.test("cgroupBindMountSpans() starts at the first /letter and ends at the last cgroup", () => {
  const lines = testdata("mountinfo/grep-edge-cases.txt").trimEnd().split("\n");
  assert.deepEqual(cgroupBindMountSpans(lines), [
    "/x /sys/fs/cgroup/unified rw - cgroup2 cgroup",
    "/docker/y /sys/fs/cgroup/memory rw - cgroup cgroup",
  ]);
});

// Every pair of fixtures: the lists kind's bash builds from findmnt for the container's path
// (the hierarchies that contain it, and those that do not).
for (const name of MOUNTINFO_FIXTURES) {
  for (const current of ["/", "/docker/abc", "/docker/2bdc16bf", "ird", "/kubelet\n/x", ""]) {
    Deno.test({
      name: `kind's findmnt pipelines for ${JSON.stringify(current)} agree on ${name}`,
      ignore: PIPELINES_SKIP !== undefined,
      fn() {
        const file = path.join(TESTDATA, "mountinfo", name);
        const pipeline = (invert: string) => {
          const words = ["findmnt", "-t cgroup"];
          const command = (invert ? originalCommand([...words, " -v "]) : originalCommand(
            words,
            [" -v "],
          ))!.replace("findmnt", 'findmnt -F "$FILE"');
          return shell(
            `${originalFunction("grep_allow_nomatch")}\ncurrent_cgroup="$CURRENT"\n` +
              `set -o pipefail; x=$(${command}) && printf %s "$x"`,
            { FILE: file, CURRENT: current },
          );
        };
        const lines = findmntSourceTargetLines(
          parseMountInfo(testdata(`mountinfo/${name}`)),
          "cgroup",
        );
        const paths = current.split("\n");
        const matching = lines.filter((line) => mentionsAny(line, paths));
        const other = lines.filter((line) => !mentionsAny(line, paths));
        assert.equal(mountPointsOf(matching).join("\n"), pipeline(""));
        assert.equal(mountPointsOf(other).join("\n"), pipeline("-v"));
      },
    });
  }
}

Deno.test("mountPointsOf() splits on runs of blanks, so a space in SOURCE shifts the field", () => {
  assert.deepEqual(
    mountPointsOf(["cgroup[/we ird] /tmp/c", "cgroup  /sys/fs/cgroup/cpu"]),
    ["ird]", "/sys/fs/cgroup/cpu"],
  );
  assert.deepEqual(mountPointsOf(["lonely", "a b"]), ["", "b"]);
  assert.deepEqual(mountPointsOf(["a b", "lonely"]), ["b"]);
});

Deno.test("capturedLines() drops trailing empty lines but keeps one line for an empty list", () => {
  assert.deepEqual(capturedLines(["a", "", "b", "", ""]), ["a", "", "b"]);
  assert.deepEqual(capturedLines(["", ""]), [""]);
  assert.deepEqual(capturedLines([]), [""]);
});

Deno.test("boundCgroupHierarchies() takes the container's path from the first span and every mount point", () => {
  assert.deepEqual(
    boundCgroupHierarchies([
      "40 35 0:34 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
      "41 35 0:35 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct",
      "42 35 0:36 / /proc rw - proc proc rw",
    ]),
    {
      containerPath: "/docker/abc",
      mountPoints: ["/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu,cpuacct"],
    },
  );
  assert.equal(boundCgroupHierarchies(["42 35 0:36 / /proc rw - proc proc rw"]), undefined);
});

Deno.test("linesWithout() drops every line with misc anywhere, like grep -v", () => {
  assert.equal(
    linesWithout(
      "#subsys_name\thierarchy\nmisc\t13\t1\t1\ncpu\t4\nnot_misc_at_all\t0\nlast",
      "misc",
    ),
    "#subsys_name\thierarchy\ncpu\t4\nlast\n",
  );
  assert.equal(linesWithout("", "misc"), "");
});

// ---------------------------------------------------------------------------------------------
// The step against the recording fake, whose mount table changes as the step mounts.

interface Scenario {
  mountinfo: string;
  /** /proc/self/cgroup; null: unreadable. */
  cgroup: string | null;
  misc?: boolean;
  /** /proc/cgroups (default: the fixture); null: unreadable. */
  procCgroups?: string | null;
  v2?: boolean;
  failingMounts?: string[];
  commands?: FakeHostOptions["commands"];
}

function fixtureScenario(name: string, extra: Partial<Scenario> = {}): Scenario {
  return {
    mountinfo: testdata(`mountinfo/${name}.txt`),
    cgroup: testdata(`cgroup/${name.replace(/-after-fix$/, "")}.txt`),
    ...extra,
  };
}

/** A FakeHost whose rmdir, mkdir -p and writes can fail like the real ones. */
class FailingFakeHost extends FakeHost {
  constructor(
    options: FakeHostOptions,
    readonly failing: Failing,
  ) {
    super(options);
  }
  override rmdir(dir: string): void {
    if (this.failing.rmdir?.includes(dir)) {
      throw new EntrypointError(`Cannot remove directory ${dir}: device or resource busy`);
    }
    super.rmdir(dir);
  }
  override mkdirp(dir: string): void {
    if (this.failing.mkdirp?.includes(dir)) {
      throw new EntrypointError(`Cannot create directory ${dir}: read-only file system`);
    }
    super.mkdirp(dir);
  }
  override writeText(file: string, data: string): void {
    if (this.failing.write?.includes(file)) {
      throw new EntrypointError(`Cannot write ${file}: no such file or directory`);
    }
    super.writeText(file, data);
  }
}

interface Failing {
  rmdir?: string[];
  mkdirp?: string[];
  write?: string[];
}

function fakeHost(scenario: Scenario, failing: Failing = {}): FailingFakeHost {
  const files: Record<string, string> = {
    "/sys/fs/cgroup/cpuset/cpuset.cpus": "0-1\n",
    "/sys/fs/cgroup/cpuset/cpuset.mems": "0\n",
  };
  if (scenario.cgroup !== null) files["/proc/self/cgroup"] = scenario.cgroup;
  const procCgroups = scenario.procCgroups === undefined
    ? testdata("cgroup/proc-cgroups.txt")
    : scenario.procCgroups;
  if (procCgroups !== null) files["/proc/cgroups"] = procCgroups;
  if (scenario.v2) files["/sys/fs/cgroup/cgroup.controllers"] = "cpu memory pids\n";
  return new FailingFakeHost({
    files,
    mountInfo: scenario.mountinfo,
    dirs: scenario.misc ? ["/sys/fs/cgroup/misc", "/kind"] : ["/kind"],
    failingMounts: scenario.failingMounts,
    commands: scenario.commands,
  }, failing);
}

function render(event: FakeEvent): string {
  switch (event.type) {
    case "log":
      return `${event.level}: ${event.message}`;
    case "mount":
    case "run":
      return event.argv.join(" ");
    case "mkdir":
      return `mkdir -p ${event.path}`;
    case "rmdir":
      return `rmdir ${event.path}`;
    case "copy":
      return `cat ${event.from} > ${event.to}`;
    case "write":
      return `write ${event.path} ${JSON.stringify(event.data)}`;
    default:
      return JSON.stringify(event);
  }
}

function events(host: FakeHost): string[] {
  return host.events.map(render).map((line) => line.replace(/[0-9a-f]{64}/g, "<id>"));
}

/**
 * What the step does on the fake, as text with long container IDs shortened to <id>, ending in
 * `exit N: message` where it stops. findmnt finds every target unless the scenario says otherwise.
 */
async function plan(
  scenario: Scenario,
  options: CgroupFixOptions & { failing?: Failing } = {},
): Promise<string[]> {
  const host = fakeHost(
    { ...scenario, commands: scenario.commands ?? { findmnt: { status: 0 } } },
    options.failing,
  );
  try {
    await applyCgroupFixes(host, { skipExisting: options.skipExisting });
    return events(host);
  } catch (error) {
    if (!(error instanceof EntrypointError)) throw error;
    return [...events(host), `exit ${error.exitCode}: ${error.message}`];
  }
}

/** The operations that change the machine, for counting. */
function changes(lines: string[], verb: RegExp): string[] {
  return lines.filter((line) => verb.test(line));
}

/** mkdir and the self bind mount of one kubelet cgroup root. */
function kubeletRoot(dir: string, cpuset = false): string[] {
  const copies = cpuset
    ? [
      `cat /sys/fs/cgroup/cpuset/cpuset.cpus > ${dir}/cpuset.cpus`,
      `cat /sys/fs/cgroup/cpuset/cpuset.mems > ${dir}/cpuset.mems`,
    ]
    : [];
  return [`mkdir -p ${dir}`, ...copies, `mount --bind ${dir} ${dir}`];
}

function kubeletRoots(hierarchy: string): string[] {
  const cpuset = hierarchy === "/sys/fs/cgroup/cpuset";
  return [
    ...kubeletRoot(`${hierarchy}/kubelet`, cpuset),
    ...kubeletRoot(`${hierarchy}/kubelet.slice`, cpuset),
  ];
}

const SMALL_CGROUPNS = [
  "1 0 0:1 / / rw - overlay overlay rw",
  "2 1 0:2 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755",
  "3 2 0:3 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct",
  "4 2 0:4 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset",
  "5 2 0:5 / /sys/fs/cgroup/misc rw - cgroup cgroup rw,misc",
  "",
].join("\n");
const SMALL_CGROUPNS_CGROUP = "3:misc:/\n2:cpuset:/\n1:cpu,cpuacct:/\n0::/\n";
const SMALL = { mountinfo: SMALL_CGROUPNS, cgroup: SMALL_CGROUPNS_CGROUP, misc: true };

Deno.test("FakeHost's mount table gains a line per bind mount and loses the top mount per umount", async () => {
  const host = new FakeHost({ mountInfo: SMALL_CGROUPNS, failingMounts: ["umount /nowhere"] });
  await host.mount({
    op: "bind",
    source: "/sys/fs/cgroup/cpuset",
    target: "/sys/fs/cgroup/cpuset/x",
  });
  await host.mount({ op: "umount", target: "/sys/fs/cgroup/misc" });
  await host.mount({ op: "umount", target: "/nowhere" }, { nothrow: true });
  await host.mount({ op: "propagation", target: "/sys/fs/cgroup", propagation: "rprivate" });
  assert.deepEqual(host.readText("/proc/self/mountinfo").split("\n"), [
    ...SMALL_CGROUPNS.split("\n").slice(0, 4),
    "6 4 0:4 / /sys/fs/cgroup/cpuset/x rw - cgroup cgroup rw,cpuset",
    "",
  ]);
});

Deno.test("fixCgroup() on cgroup v2 logs one line and changes nothing", async () => {
  const host = fakeHost({ ...SMALL, v2: true });
  await fixCgroup(host, {});
  assert.deepEqual(events(host), ["INFO: detected cgroup v2"]);
});

Deno.test("fixCgroup() with cgroupns hides misc, then pins the kubelet roots", async () => {
  const withoutMisc = linesWithout(testdata("cgroup/proc-cgroups.txt"), "misc");
  assert.deepEqual(await plan(SMALL), [
    "INFO: detected cgroup v1",
    "INFO: detected cgroupns",
    "INFO: removing misc controller",
    "umount /sys/fs/cgroup/misc",
    "rmdir /sys/fs/cgroup/misc",
    `write /kind/fake-cgroups ${JSON.stringify(withoutMisc)}`,
    "mount --bind /kind/fake-cgroups /proc/cgroups",
    "mount --make-rprivate /sys/fs/cgroup",
    ...kubeletRoots("/sys/fs/cgroup/cpu,cpuacct"),
    ...kubeletRoots("/sys/fs/cgroup/cpuset"),
    // No named systemd hierarchy in the list: kind makes the directory anyway.
    ...kubeletRoot("/sys/fs/cgroup/systemd/kubelet.slice"),
  ]);
});

Deno.test("fixCgroup() performs the plan in order, with the misc WARN lines when tolerated", async () => {
  const host = fakeHost({ ...SMALL, failingMounts: ["umount /sys/fs/cgroup/misc"] }, {
    rmdir: ["/sys/fs/cgroup/misc"],
  });
  await fixCgroup(host, {});
  const withoutMisc = linesWithout(testdata("cgroup/proc-cgroups.txt"), "misc");
  assert.deepEqual(events(host), [
    "INFO: detected cgroup v1",
    "INFO: detected cgroupns",
    "INFO: removing misc controller",
    "umount /sys/fs/cgroup/misc",
    "WARN: failed umount /sys/fs/cgroup/misc",
    "WARN: failed rmdir /sys/fs/cgroup/misc",
    `write /kind/fake-cgroups ${JSON.stringify(withoutMisc)}`,
    "mount --bind /kind/fake-cgroups /proc/cgroups",
    "mount --make-rprivate /sys/fs/cgroup",
    ...kubeletRoots("/sys/fs/cgroup/cpu,cpuacct"),
    ...kubeletRoots("/sys/fs/cgroup/cpuset"),
    // misc is still mounted, so kind's bash treats it as a hierarchy like the others.
    ...kubeletRoots("/sys/fs/cgroup/misc"),
    ...kubeletRoot("/sys/fs/cgroup/systemd/kubelet.slice"),
  ]);
  assert.equal(host.files.get("/sys/fs/cgroup/cpuset/kubelet.slice/cpuset.mems"), "0\n");
});

Deno.test("fixCgroup() on Docker with cgroupns matches what kind's bash did here", async () => {
  // The fixture after-fix is the mount table kind's bash left in a container on this machine.
  const lines = await plan(fixtureScenario("docker-v1-cgroupns"));
  const after = parseMountInfo(testdata("mountinfo/docker-v1-cgroupns-after-fix.txt"));
  const expectedBinds = after.filter((m) => m.root.startsWith("/kubelet")).map((m) =>
    `mount --bind ${m.mountPoint} ${m.mountPoint}`
  );
  assert.deepEqual(changes(lines, /^mount --bind/), expectedBinds);
  assert.deepEqual(lines.slice(0, 3), [
    "INFO: detected cgroup v1",
    "INFO: detected cgroupns",
    "mount --make-rprivate /sys/fs/cgroup",
  ]);
});

Deno.test("fixCgroup() on Docker without cgroupns matches what kind's bash did here", async () => {
  const lines = await plan(fixtureScenario("docker-v1-no-cgroupns"));
  const before = parseMountInfo(testdata("mountinfo/docker-v1-no-cgroupns.txt"));
  const after = parseMountInfo(testdata("mountinfo/docker-v1-no-cgroupns-after-fix.txt"));
  const added = after.slice(before.length).map((m) => `mount --bind ${m.mountPoint}`);
  const binds = changes(lines, /^mount --bind/).map((line) =>
    line.replace(/^mount --bind \S+ (\S+)$/, "mount --bind $1")
  );
  assert.deepEqual(binds, added.map((line) => line.replace(/[0-9a-f]{64}/g, "<id>")));
  assert.deepEqual(lines.slice(0, 5), [
    "INFO: detected cgroup v1",
    "WARN: cgroupns not enabled! Please use cgroup v2, or cgroup v1 with cgroupns enabled.",
    "INFO: fixing cgroup mounts for all subsystems",
    "mkdir -p /sys/fs/cgroup/cpu/docker/<id>",
    "mount --bind /sys/fs/cgroup/cpu /sys/fs/cgroup/cpu/docker/<id>",
  ]);
});

Deno.test("fixCgroup() unmounts podman's unscoped misc and rdma, and misc stays gone", async () => {
  const lines = await plan(fixtureScenario("podman-v1", { misc: true }));
  assert.deepEqual(lines.slice(3, 9), [
    "INFO: unmounting and removing /sys/fs/cgroup/misc",
    "umount /sys/fs/cgroup/misc",
    "rmdir /sys/fs/cgroup/misc",
    "INFO: unmounting and removing /sys/fs/cgroup/rdma",
    "umount /sys/fs/cgroup/rdma",
    "rmdir /sys/fs/cgroup/rdma",
  ]);
  // remove_misc_controller finds no directory left, so /proc/cgroups is not replaced.
  assert.ok(!lines.some((line) => line.includes("fake-cgroups")));
  assert.ok(lines.includes(
    "mount --bind /sys/fs/cgroup/cpu,cpuacct /sys/fs/cgroup/cpu,cpuacct/libpod_parent/libpod-<id>",
  ));
});

Deno.test("fixCgroup() hides misc when its rmdir failed in the unscoped loop", async () => {
  const lines = await plan(fixtureScenario("podman-v1", { misc: true }), {
    failing: { rmdir: ["/sys/fs/cgroup/misc"] },
  });
  const at = lines.indexOf("INFO: removing misc controller");
  assert.ok(at > 0);
  assert.deepEqual(lines.slice(at + 1, at + 3), [
    "umount /sys/fs/cgroup/misc",
    "WARN: failed rmdir /sys/fs/cgroup/misc",
  ]);
});

Deno.test("fixCgroup() without cgroupns unmounts unscoped hierarchies and tolerates failures", async () => {
  const host = fakeHost(fixtureScenario("github-actions", { misc: true }), {
    rmdir: ["/sys/fs/cgroup/misc"],
  });
  await fixCgroup(host, {});
  assert.deepEqual(events(host).slice(0, 14), [
    "INFO: detected cgroup v1",
    "WARN: cgroupns not enabled! Please use cgroup v2, or cgroup v1 with cgroupns enabled.",
    "INFO: fixing cgroup mounts for all subsystems",
    "INFO: unmounting and removing /sys/fs/cgroup/misc",
    "umount /sys/fs/cgroup/misc",
    "WARN: failed to rmdir /sys/fs/cgroup/misc",
    "INFO: removing misc controller",
    "umount /sys/fs/cgroup/misc",
    "WARN: failed rmdir /sys/fs/cgroup/misc",
    `write /kind/fake-cgroups ${JSON.stringify(testdata("cgroup/proc-cgroups.txt"))}`,
    "mount --bind /kind/fake-cgroups /proc/cgroups",
    "mkdir -p /sys/fs/cgroup/systemd/actions_job/<id>",
    "mount --bind /sys/fs/cgroup/systemd /sys/fs/cgroup/systemd/actions_job/<id>",
    "mkdir -p /sys/fs/cgroup/cpu,cpuacct/actions_job/<id>",
  ]);
});

for (
  const [name, root] of [
    ["cloud-shell", "/kubepods/besteffort/pod8995efeba9032050d09c5892503e12b4/<id>"],
    ["github-actions", "/actions_job/<id>"],
  ] as const
) {
  Deno.test(`fixCgroup() on ${name} binds every scoped hierarchy at its container path`, async () => {
    const lines = await plan(fixtureScenario(name));
    const scoped = parseMountInfo(testdata(`mountinfo/${name}.txt`)).filter((m) =>
      m.fsType === "cgroup" && m.root !== "/"
    );
    const fixups = scoped.map((m) => `mount --bind ${m.mountPoint} ${m.mountPoint}${root}`);
    assert.deepEqual(changes(lines, /^mount --bind \/sys\/fs\/cgroup\/[^/ ]+ /), fixups);
    // The hierarchies are listed again after those binds, so each hierarchy and each new
    // container-path mount gets both kubelet roots.
    assert.equal(changes(lines, /^mount --bind \S+kubelet/).length, scoped.length * 2 * 2);
  });
}

Deno.test("fixCgroup() exits like kind's bash when it cannot go on", async () => {
  const small = { mountinfo: SMALL_CGROUPNS, cgroup: SMALL_CGROUPNS_CGROUP };
  const cases: [string, Scenario, string][] = [
    [
      "no cpu line",
      { ...small, cgroup: "0::/\n" },
      "exit 1: /proc/self/cgroup has no line for the cpu controller",
    ],
    [
      "no cgroup mount with the container's path",
      { ...small, cgroup: "1:cpu:/elsewhere\n" },
      'exit 1: No cgroup v1 mount matches the container\'s cgroup "/elsewhere"',
    ],
    [
      "no cgroup v1 mount at all",
      { ...small, mountinfo: "1 0 0:1 / / rw - overlay overlay rw\n" },
      'exit 1: No cgroup v1 mount matches the container\'s cgroup "/"',
    ],
    [
      "/proc/cgroups is all misc",
      { ...small, misc: true, procCgroups: "misc\t13\t1\t1\n" },
      'exit 1: /proc/cgroups has no line without "misc"',
    ],
    [
      "malformed mountinfo",
      { ...small, mountinfo: "garbage\n" },
      'exit 1: Cannot list the cgroup mounts: mountinfo line 1 is malformed: "garbage"',
    ],
  ];
  for (const [what, scenario, last] of cases) {
    assert.equal((await plan(scenario)).at(-1), last, what);
  }
  assert.deepEqual(await plan({ ...small, cgroup: null }), [
    "INFO: detected cgroup v1",
    "exit 2: Cannot read /proc/self/cgroup",
  ]);
  assert.deepEqual((await plan({ ...small, misc: true, procCgroups: null })).slice(-2), [
    'write /kind/fake-cgroups ""',
    "exit 2: Cannot read /proc/cgroups",
  ]);
});

Deno.test("fixCgroup() stops at a failed bind mount with mount's status", async () => {
  const host = fakeHost({
    ...SMALL,
    failingMounts: ["mount --bind /sys/fs/cgroup/cpuset/kubelet /sys/fs/cgroup/cpuset/kubelet"],
  });
  const error = await fixCgroup(host, {}).then(() => undefined, (e) => e);
  assert.ok(error instanceof CommandError);
  assert.equal(error.exitCode, 32);
  assert.deepEqual(events(host).slice(-2), [
    "cat /sys/fs/cgroup/cpuset/cpuset.mems > /sys/fs/cgroup/cpuset/kubelet/cpuset.mems",
    "mount --bind /sys/fs/cgroup/cpuset/kubelet /sys/fs/cgroup/cpuset/kubelet",
  ]);
});

Deno.test("fixCgroup() stops with status 1 where kind's bash fails outside mount", async () => {
  const cases: [string, ReturnType<typeof fakeHost>, RegExp, string][] = [
    [
      "mkdir -p",
      fakeHost(SMALL, { mkdirp: ["/sys/fs/cgroup/cpu,cpuacct/kubelet"] }),
      /read-only file system/,
      "mount --make-rprivate /sys/fs/cgroup",
    ],
    [
      "no /kind",
      fakeHost(SMALL, { write: ["/kind/fake-cgroups"] }),
      /Cannot write \/kind\/fake-cgroups/,
      "rmdir /sys/fs/cgroup/misc",
    ],
    [
      "no cpu line",
      fakeHost({ ...SMALL, cgroup: "0::/\n" }),
      /no line for the cpu controller/,
      "INFO: detected cgroup v1",
    ],
  ];
  for (const [what, host, message, lastEvent] of cases) {
    const error = await fixCgroup(host, {}).then(() => undefined, (e) => e);
    assert.ok(error instanceof EntrypointError, what);
    assert.equal(error.exitCode, 1, what);
    assert.match(error.message, message, what);
    assert.equal(events(host).at(-1), lastEvent, what);
  }
});

Deno.test("fixCgroup() run again stacks mounts, as kind's bash does", async () => {
  const cgroupns = await plan(fixtureScenario("docker-v1-cgroupns-after-fix"));
  // 18 roots again, and 36 more inside the first run's kubelet mounts.
  assert.equal(changes(cgroupns, /^mount --bind/).length, 54);
  const noCgroupns = await plan(fixtureScenario("docker-v1-no-cgroupns-after-fix"));
  assert.ok(noCgroupns.includes("findmnt /sys/fs/cgroup/cpu/docker/<id>"));
  assert.ok(noCgroupns.includes(
    "mount --bind /sys/fs/cgroup/cpu/kubelet /sys/fs/cgroup/cpu/kubelet/docker/<id>",
  ));
});

Deno.test("fixCgroup() run again prints findmnt's table for container paths already mounted", async () => {
  const findmnt = { status: 0, stdout: "TARGET SOURCE FSTYPE OPTIONS\n" };
  const host = fakeHost({
    ...fixtureScenario("docker-v1-no-cgroupns-after-fix"),
    commands: { findmnt },
  });
  await fixCgroup(host, {});
  const runs = host.events.filter((e) => e.type === "run").map(render);
  assert.equal(runs.length, 9);
  assert.equal(runs[0].replace(/[0-9a-f]{64}/, "<id>"), "findmnt /sys/fs/cgroup/cpu/docker/<id>");
});

for (const name of ["docker-v1-cgroupns-after-fix", "docker-v1-no-cgroupns-after-fix"]) {
  Deno.test(`fixCgroup() with skipExisting mounts nothing more on ${name}`, async () => {
    const lines = await plan(fixtureScenario(name), { skipExisting: true });
    assert.deepEqual(changes(lines, /^(mount --bind|umount|rmdir)/), []);
    assert.deepEqual(changes(lines, /^mount /), ["mount --make-rprivate /sys/fs/cgroup"]);
  });
}

for (const name of ["docker-v1-cgroupns", "docker-v1-no-cgroupns", "podman-v1", "github-actions"]) {
  Deno.test(`fixCgroup() with skipExisting is kind's plan on a fresh ${name}`, async () => {
    const scenario = fixtureScenario(name, { misc: name !== "docker-v1-cgroupns" });
    assert.deepEqual(await plan(scenario, { skipExisting: true }), await plan(scenario));
  });
}

/** The first line of each change a run made on the fake, worded as the dry-run plan words it. */
function changeLines(host: FakeHost): string[] {
  return host.effects.flatMap((e) => {
    switch (e.type) {
      case "mount":
        return [`run ${e.argv.join(" ")}`];
      case "mkdir":
        return [`mkdir -p ${e.path}`];
      case "rmdir":
        return [`rmdir ${e.path}`];
      case "write":
        return [`write ${e.path}`];
      case "copy":
        return [`copy ${e.from} to ${e.to}`];
      default:
        return [];
    }
  });
}

// A dry run reads the mount table with its planned mounts (lib/host/dry_run.ts), so it plans what a
// real run does even where the step reads the table again after its own mounts and umounts.
for (
  const [name, scenario] of [
    ["cgroupns with misc", SMALL],
    ["Docker without cgroupns", fixtureScenario("docker-v1-no-cgroupns")],
    ["podman's unscoped misc", fixtureScenario("podman-v1", { misc: true })],
    ["GitHub Actions", fixtureScenario("github-actions", { misc: true })],
  ] as const
) {
  Deno.test(`fixCgroup() in a dry run plans what a real run does: ${name}`, async () => {
    const real = fakeHost(scenario);
    await fixCgroup(real, {});
    const dryRun = createDryRun(fakeHost(scenario));
    await fixCgroup(dryRun.host, {});
    const planned = dryRun.plan.changes.map((change) => change.split("\n")[0]);
    assert.deepEqual(planned, changeLines(real));
    assert.ok(planned.some((line) => /^run mount --bind \S+ \S+kubelet/.test(line)));
  });
}

// ---------------------------------------------------------------------------------------------
// The real kernel: kind's bash and this port side by side in throwaway containers.

const ORIGINAL = Deno.env.get("KIND_ORIGINAL_ENTRYPOINT");
const REPO = new URL("../..", import.meta.url).pathname;
const run = promisify(execFile);

/** A local image with bash and util-linux, or undefined. */
function testImage(): string | undefined {
  const wanted = Deno.env.get("KIND_CGROUP_TEST_IMAGE");
  if (wanted) return wanted;
  try {
    const out = execFileSync("docker", [
      "images",
      "--format",
      "{{.Repository}}:{{.Tag}}",
      "kind-entrypoint-ts/base",
    ], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    return out.split("\n").find((line) => line !== "");
  } catch {
    return undefined;
  }
}

const KERNEL_SKIP = ORIGINAL === undefined
  ? "KIND_ORIGINAL_ENTRYPOINT is not set"
  : testImage() === undefined
  ? "no docker or no kind-entrypoint-ts/base image (KIND_CGROUP_TEST_IMAGE)"
  : undefined;
if (KERNEL_SKIP) console.log(`cgroups_test: skipping the real-kernel comparison: ${KERNEL_SKIP}`);

/**
 * Runs inside the container: writable cgroup mounts (what --privileged gives kind), an optional
 * set-up, RUNS runs of one implementation, then the state, normalized.
 */
const CONTAINER_SCRIPT = String.raw`
set -uo pipefail
if [[ $RW == 1 ]]; then
  for m in $(awk '$5 ~ /^\/sys\/fs\/cgroup\// && $6 ~ /(^|,)ro(,|$)/ {print $5}' /proc/self/mountinfo); do
    mount -o remount,bind,rw "$m"
  done
fi
mkdir -p /kind
case $SETUP in
  misc) mkdir -p /sys/fs/cgroup/misc && mount -t cgroup -o pids cgroup /sys/fs/cgroup/misc ;;
  busy-misc)
    mkdir -p /sys/fs/cgroup/misc && mount -t cgroup -o pids cgroup /sys/fs/cgroup/misc
    mkdir -p /sys/fs/cgroup/misc/busy && mount -t tmpfs busy /sys/fs/cgroup/misc/busy ;;
esac
functions() {
  local name
  for name in log_info log_warn grep_allow_nomatch mount_kubelet_cgroup_root_subsystem \
    mount_kubelet_cgroup_root remove_misc_controller fix_cgroup; do
    awk -v name="$name" '!inside && $0 ~ "^" name "[[:space:]]*\\(\\)[[:space:]]*\\{" { inside = 1 }
      inside { print } inside && $0 == "}" { exit }' /original
  done
}
for i in $(seq "$RUNS"); do
  echo "## run $i"
  if [[ $IMPL == original ]]; then
    (set -o errexit -o nounset -o pipefail; eval "$(functions)"; fix_cgroup) 2>/tmp/stderr
  else
    (cd /repo && DENO_DIR=/tmp/deno /deno eval --config /repo/deno.json --no-lock "
      import { createHost } from 'file:///repo/lib/host/real.ts';
      import { applyCgroupFixes } from 'file:///repo/lib/steps/cgroups.ts';
      try {
        await applyCgroupFixes(createHost(), { skipExisting: Deno.env.get('SKIP') === '1' });
      } catch (error) {
        console.error('ERROR: ' + error.message);
        Deno.exit(error.exitCode ?? 1);
      }") 2>/tmp/stderr
  fi
  echo "## status $?"
  echo "## stderr"
  # Our own ERROR line, and the messages of rmdir(1), mkdir(1), mount(8) and umount(8): the port
  # makes directories and mounts in-process and words those failures itself (the call and the
  # errno), a difference docs/differences.md lists (row 23).
  grep -v -e '^ERROR: ' -e '^rmdir: ' -e '^mkdir: ' -e '^mount: ' -e '^umount: ' /tmp/stderr
done
echo "## mounts"
# Only what fix_cgroup can change: root, mount point, options and type of the mounts below
# /sys/fs/cgroup and at /proc/cgroups (devices and propagation peers differ per container).
awk '$5 ~ "^(/sys/fs/cgroup|/proc/cgroups)(/|$)" {
  for (i = 7; $i != "-"; i++) {}
  print $4, $5, $6, $(i + 1), $(i + 2), ($(i + 1) == "cgroup" ? $(i + 3) : "")
}' /proc/self/mountinfo
# num_cgroups changes with every container on the machine.
echo "## /proc/cgroups"
awk '{print $1, $2, $4}' /proc/cgroups
echo "## fake-cgroups"
awk '{print $1, $2, $4}' /kind/fake-cgroups 2>&1
echo "## cpuset"
grep -H . /sys/fs/cgroup/cpuset/kubelet*/cpuset.cpus /sys/fs/cgroup/cpuset/kubelet*/cpuset.mems 2>&1
exit 0
`;

interface KernelRun {
  cgroupns: "private" | "host";
  setup?: "misc" | "busy-misc";
  runs?: number;
  rw?: boolean;
}

async function runInContainer(impl: "original" | "port", scenario: KernelRun, skip = false) {
  const image = testImage()!;
  const argv = [
    "run",
    "--rm",
    "--cap-add",
    "SYS_ADMIN",
    "--security-opt",
    "apparmor=unconfined",
    "--security-opt",
    "seccomp=unconfined",
    `--cgroupns=${scenario.cgroupns}`,
    "-v",
    `${REPO}:/repo:ro`,
    "-v",
    `${Deno.execPath()}:/deno:ro`,
    "-v",
    `${ORIGINAL}:/original:ro`,
    "-e",
    `IMPL=${impl}`,
    "-e",
    `SETUP=${scenario.setup ?? ""}`,
    "-e",
    `RUNS=${scenario.runs ?? 1}`,
    "-e",
    `RW=${scenario.rw === false ? 0 : 1}`,
    "-e",
    `SKIP=${skip ? 1 : 0}`,
    image,
    "bash",
    "-c",
    CONTAINER_SCRIPT,
  ];
  const { stdout } = await run("docker", argv, { maxBuffer: 1 << 24 });
  // The container's ID appears in cgroup paths without cgroupns.
  return stdout.replace(/[0-9a-f]{64}/g, "<id>");
}

const KERNEL_SCENARIOS: [string, KernelRun][] = [
  ["Docker with cgroupns", { cgroupns: "private" }],
  ["Docker without cgroupns", { cgroupns: "host" }],
  ["Docker with cgroupns and a misc hierarchy", { cgroupns: "private", setup: "misc" }],
  ["Docker without cgroupns and an unscoped hierarchy at misc", {
    cgroupns: "host",
    setup: "misc",
  }],
  ["a misc hierarchy that cannot be unmounted", { cgroupns: "private", setup: "busy-misc" }],
  ["Docker with cgroupns, run twice", { cgroupns: "private", runs: 2 }],
  ["Docker without cgroupns, run twice", { cgroupns: "host", runs: 2 }],
  ["read-only cgroup mounts with cgroupns", { cgroupns: "private", rw: false }],
  ["read-only cgroup mounts without cgroupns", { cgroupns: "host", rw: false }],
];

for (const [what, scenario] of KERNEL_SCENARIOS) {
  Deno.test({
    name: `on a real kernel, the port leaves what kind's bash leaves: ${what}`,
    ignore: KERNEL_SKIP !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const [original, port] = await Promise.all([
        runInContainer("original", scenario),
        runInContainer("port", scenario),
      ]);
      assert.equal(port, original);
    },
  });
}

for (const cgroupns of ["private", "host"] as const) {
  Deno.test({
    name: `on a real kernel, a second run with skipExisting changes nothing (cgroupns=${cgroupns})`,
    ignore: KERNEL_SKIP !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const [once, twice] = await Promise.all([
        runInContainer("original", { cgroupns }),
        runInContainer("port", { cgroupns, runs: 2 }, true),
      ]);
      const state = (text: string) => text.slice(text.indexOf("## mounts"));
      assert.equal(state(twice), state(once));
    },
  });
}
