import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import {
  coveringMount,
  findmntEncode,
  findmntSourceTargetLines,
  formatMountInfoLine,
  isMountPoint,
  type MountInfo,
  normalizePath,
  parseMountInfo,
  parseMountInfoLine,
  rootOfPath,
  unescapeMountField,
} from "./mountinfo.ts";

const TESTDATA = new URL("../../test/testdata/mountinfo/", import.meta.url);
const FIXTURES = fs.readdirSync(TESTDATA).filter((name) => name.endsWith(".txt")).sort();

function fixturePath(name: string): string {
  return new URL(name, TESTDATA).pathname;
}

function fixture(name: string): string {
  return fs.readFileSync(fixturePath(name), "utf8");
}

/** The output of a tool of this machine, or undefined when it is not installed. */
function tool(argv: string[]): string | undefined {
  try {
    return execFileSync(argv[0], argv.slice(1), {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C" },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    // findmnt exits 1 when nothing matches; its (empty) output is still the answer.
    const status = (error as { status?: number }).status;
    if (status === 1) return (error as { stdout: string }).stdout;
    throw error;
  }
}

Deno.test("parseMountInfo() reads every field of a Docker cgroup v1 line", () => {
  const line = "273 248 0:29 /docker/0123abcd /sys/fs/cgroup/cpu ro,nosuid,nodev,noexec,relatime " +
    "shared:143 master:23 - cgroup cgroup rw,cpu";
  assert.deepEqual(parseMountInfo(line + "\n"), [{
    mountId: 273,
    parentId: 248,
    device: "0:29",
    root: "/docker/0123abcd",
    mountPoint: "/sys/fs/cgroup/cpu",
    options: ["ro", "nosuid", "nodev", "noexec", "relatime"],
    optionalFields: ["shared:143", "master:23"],
    fsType: "cgroup",
    source: "cgroup",
    superOptions: ["rw", "cpu"],
    line,
  }]);
});

Deno.test("parseMountInfo() decodes the kernel's octal escapes in paths and the source", () => {
  const [entry] = parseMountInfo(
    "34 21 0:39 /a\\040b\\011c /mnt/x\\012y\\134z rw - fuse.sshfs me@host:/a\\040dir rw\n",
  );
  assert.equal(entry.root, "/a b\tc");
  assert.equal(entry.mountPoint, "/mnt/x\ny\\z");
  assert.equal(entry.source, "me@host:/a dir");
  assert.equal(entry.fsType, "fuse.sshfs");
});

Deno.test("unescapeMountField() keeps escaped UTF-8 bytes together", () => {
  assert.equal(unescapeMountField("/\\303\\274ber"), "/über");
  assert.equal(unescapeMountField("/plain"), "/plain");
});

Deno.test("parseMountInfo() names the first malformed line", () => {
  const cases: [string, RegExp][] = [
    ["1 0 0:1 / / rw - ext4 /dev/vda rw\nnot a mount\n", /line 2 is malformed: "not a mount"/],
    ["1 0 0:1 / / rw ext4 /dev/vda rw\n", /line 1 is malformed/],
    ["x 0 0:1 / / rw - ext4 /dev/vda rw\n", /line 1 is malformed/],
    ["1 0 0:1 / / rw - ext4 /dev/vda rw extra\n", /line 1 is malformed/],
  ];
  for (const [text, error] of cases) assert.throws(() => parseMountInfo(text), error);
  assert.equal(parseMountInfoLine("1 0 0:1 / / rw -"), undefined);
});

Deno.test("parseMountInfo() of an empty file is an empty table", () => {
  assert.deepEqual(parseMountInfo(""), []);
});

for (const name of FIXTURES) {
  Deno.test(`formatMountInfoLine() writes every line of ${name} back byte for byte`, () => {
    for (const entry of parseMountInfo(fixture(name))) {
      assert.equal(formatMountInfoLine(entry), entry.line);
    }
  });
}

Deno.test("findmntEncode() writes what findmnt's C locale cannot print as \\xHH", () => {
  const cases: [string, string][] = [
    ["/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct"],
    ["/a b", "/a b"],
    ["/t\tab", "/t\\x09ab"],
    ["/n\nl", "/n\\x0al"],
    ["/b\\s", "/b\\s"],
    ["/x\\x41", "/x\\x5cx41"],
    ["/ü", "/\\xc3\\xbc"],
    ["/e\x1b\x7f", "/e\\x1b\\x7f"],
  ];
  for (const [text, encoded] of cases) assert.equal(findmntEncode(text), encoded, text);
});

Deno.test("findmntSourceTargetLines() shows the mounted cgroup in brackets and pads SOURCE", () => {
  const mounts = parseMountInfo(fixture("special-characters.txt"));
  assert.deepEqual(findmntSourceTargetLines(mounts, "cgroup"), [
    "cgroup             /sys/fs/cgroup/pids",
    "cgroup[/we ird]    /tmp/a b",
    "cgroup[/t\\x09ab]   /tmp/t\\x09ab",
    "cgroup[/n\\x0al]    /tmp/n\\x0al",
    "cgroup[/b\\s]       /tmp/b\\s",
    "cgroup[/x\\x5cx41]  /tmp/x\\x5cx41",
    "cgroup[/\\xc3\\xbc]  /tmp/\\xc3\\xbc",
    "cgroup[/e\\x1b\\x7f] /tmp/e\\x1b\\x7f",
    "x                  /tmp/x",
    "y                  /tmp/x",
  ]);
});

Deno.test("findmntSourceTargetLines() never pads SOURCE narrower than its heading", () => {
  const mounts = parseMountInfo("47 72 0:36 / /tmp/p rw,relatime - cgroup x rw,pids\n");
  assert.deepEqual(findmntSourceTargetLines(mounts, "cgroup"), ["x      /tmp/p"]);
  assert.deepEqual(findmntSourceTargetLines(mounts, "cgroup2"), []);
});

const findmnt = tool(["findmnt", "--version"]) === undefined ? undefined : "findmnt";
for (const name of FIXTURES) {
  Deno.test({
    name: `findmntSourceTargetLines() agrees with this machine's findmnt on ${name}`,
    ignore: findmnt === undefined,
    fn() {
      const real = tool([
        "findmnt",
        "-F",
        fixturePath(name),
        "-lun",
        "-o",
        "source,target",
        "-t",
        "cgroup",
      ]);
      const ours = findmntSourceTargetLines(parseMountInfo(fixture(name)), "cgroup");
      assert.equal(ours.map((line) => line + "\n").join(""), real);
    },
  });
}

Deno.test("isMountPoint() compares normalized paths, as findmnt PATH does", () => {
  const mounts = parseMountInfo(fixture("docker-v1-cgroupns-after-fix.txt"));
  assert.equal(isMountPoint(mounts, "/sys/fs/cgroup/cpu//kubelet"), true);
  assert.equal(isMountPoint(mounts, "/sys/fs/cgroup/cpu/kubelet/"), true);
  assert.equal(isMountPoint(mounts, "/sys/fs/cgroup/cpu/kubelet/x"), false);
});

Deno.test("coveringMount() finds the deepest mount on top, or the one below with below", () => {
  const mounts: MountInfo[] = parseMountInfo(fixture("docker-v1-cgroupns-after-fix.txt"));
  const at = (path: string, below = false) => {
    const m = coveringMount(mounts, path, { below });
    return m && `${m.mountPoint} ${m.root}`;
  };
  assert.equal(at("/sys/fs/cgroup/cpu/kubelet/pod1"), "/sys/fs/cgroup/cpu/kubelet /kubelet");
  assert.equal(at("/sys/fs/cgroup/cpu/kubelet", true), "/sys/fs/cgroup/cpu /");
  assert.equal(at("/sys/fs/cgroup/cpu2"), "/sys/fs/cgroup /");
  assert.equal(
    at("/etc/hostname"),
    "/etc/hostname " + mounts.find((m) => m.mountPoint === "/etc/hostname")?.root,
  );
});

Deno.test("rootOfPath() joins the mount's root and the path below its mount point", () => {
  const cases: [Pick<MountInfo, "root" | "mountPoint">, string, string][] = [
    [
      { root: "/docker/ab", mountPoint: "/sys/fs/cgroup/cpu" },
      "/sys/fs/cgroup/cpu//kubelet",
      "/docker/ab/kubelet",
    ],
    [{ root: "/", mountPoint: "/sys/fs/cgroup/cpu" }, "/sys/fs/cgroup/cpu", "/"],
    [{ root: "/", mountPoint: "/" }, "/kind/fake-cgroups", "/kind/fake-cgroups"],
    [{ root: "/docker/ab", mountPoint: "/sys/fs/cgroup/cpu" }, "/sys/fs/cgroup/cpu", "/docker/ab"],
  ];
  for (const [mount, path, root] of cases) assert.equal(rootOfPath(mount, path), root, path);
});

Deno.test("normalizePath() collapses slashes and drops a trailing one", () => {
  assert.equal(normalizePath("/sys//fs///cgroup/"), "/sys/fs/cgroup");
  assert.equal(normalizePath("/"), "/");
  assert.equal(normalizePath("//"), "/");
});
