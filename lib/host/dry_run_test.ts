import assert from "node:assert/strict";
import { asIntention, createDryRun, shellWords } from "./dry_run.ts";
import { unifiedDiff } from "./diff.ts";
import { FakeHost } from "./fake.ts";

Deno.test("the dry-run host lets later reads see earlier planned writes", () => {
  const real = new FakeHost({ dirs: ["/etc"], files: { "/etc/a": "1\n" } });
  const { host, plan } = createDryRun(real);
  host.writeText("/etc/a", "2\n");
  assert.equal(host.readText("/etc/a"), "2\n");
  host.remove("/etc/a");
  assert.equal(host.kind("/etc/a"), undefined);
  assert.equal(real.files.get("/etc/a"), "1\n");
  // Writing what is already there is no change.
  host.writeText("/etc/b", "x\n");
  host.writeText("/etc/b", "x\n");
  assert.equal(plan.changes.length, 3);
});

Deno.test("the dry-run host lets later reads see planned mounts, umounts and rmdirs", async () => {
  const mountinfo = "1 0 0:1 / / rw - overlay overlay rw\n" +
    "2 1 0:2 / /sys/fs/cgroup/misc rw - cgroup cgroup rw,misc\n";
  const real = new FakeHost({
    dirs: ["/sys/fs/cgroup/misc"],
    files: { "/proc/self/mountinfo": mountinfo },
  });
  const { host } = createDryRun(real);
  await host.mount({ op: "umount", target: "/sys/fs/cgroup/misc" });
  host.rmdir("/sys/fs/cgroup/misc");
  await host.mount({ op: "bind", source: "/etc", target: "/mnt" });
  assert.equal(host.kind("/sys/fs/cgroup/misc"), undefined);
  assert.equal(
    host.readText("/proc/self/mountinfo"),
    "1 0 0:1 / / rw - overlay overlay rw\n2 1 0:1 /etc /mnt rw - overlay overlay rw\n",
  );
  host.mkdirp("/sys/fs/cgroup/misc");
  assert.equal(host.kind("/sys/fs/cgroup/misc"), "directory");
  assert.equal(real.files.get("/proc/self/mountinfo"), mountinfo);
  assert.ok(real.dirs.has("/sys/fs/cgroup/misc"));
});

Deno.test("shellWords() quotes only the words that need it", () => {
  assert.equal(
    shellWords(["mount", "-o", "ro,bind", "/a b", "it's"]),
    `mount -o ro,bind '/a b' 'it'\\''s'`,
  );
});

Deno.test("unifiedDiff() matches diff -u for a change and an addition", () => {
  const a = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n";
  const b = "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\n";
  assert.equal(
    unifiedDiff(a, b, { from: "a", to: "b" }),
    "--- a\n+++ b\n@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e\n@@ -11,3 +11,4 @@\n k\n l\n m\n+n\n",
  );
  assert.equal(unifiedDiff("x\n", "x\n", { from: "a", to: "b" }), "");
});

Deno.test("asIntention() words kind's announcements as a plan", () => {
  const cases: [string, string][] = [
    ["clearing and regenerating /etc/machine-id", "would clear and regenerate /etc/machine-id"],
    ["detected aufs, calling sync", "detected aufs, would call sync"],
    [
      "clearing and regenerating the certificate for serving the Kubernetes API",
      "would clear and regenerate the certificate for serving the Kubernetes API",
    ],
    ["setting iptables to detected mode: nft", "would set iptables to detected mode: nft"],
    ["starting init", "would start init"],
    ["something new", "would do: something new"],
  ];
  for (const [message, expected] of cases) assert.equal(asIntention(message), expected);
});
