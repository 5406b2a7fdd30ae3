import assert from "node:assert/strict";
import { createDryRun, formatPlan, runDryRun, shellWords } from "../lib/dry_run.ts";
import { unifiedDiff } from "../lib/diff.ts";
import { FakeHost } from "./fake_host.ts";

const SAVE = `*nat
:OUTPUT ACCEPT [0:0]
-A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT
COMMIT
`;

function node() {
  return new FakeHost({
    env: { KIND_ENTRYPOINT_STEPS: "network_magic" },
    lookups: { "4:kind-control-plane": "172.18.0.2" },
    dirs: ["/etc", "/kind"],
    files: { "/etc/resolv.conf": "nameserver 127.0.0.11\n" },
    commands: {
      ip: { stdout: "default via 172.18.0.1 dev eth0 \n" },
      "iptables-save": { stdout: SAVE },
    },
  });
}

Deno.test("runDryRun() changes nothing and plans every change with diffs", async () => {
  const real = node();
  const { status, plan } = await runDryRun(real, ["/sbin/init"]);
  assert.equal(status, 0);
  assert.deepEqual(real.effects.map((e) => e.type === "run" ? e.argv[0] : e.type), [
    "ip",
    "iptables-save",
  ]);
  assert.equal(
    plan,
    `# kind-entrypoint-ts dry run (KIND_ENTRYPOINT_DRY_RUN=1): nothing was changed.
# A real run would make these 5 changes, in this order:
run iptables-restore
    --- before
    +++ after
    @@ -1,4 +1,5 @@
     *nat
     :OUTPUT ACCEPT [0:0]
    --A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT
    +-A OUTPUT -d 172.18.0.1/32 -j DOCKER_OUTPUT
    +-A PREROUTING -d 172.18.0.1/32 -j DOCKER_OUTPUT
     COMMIT
write /etc/resolv.conf.original
    --- /dev/null
    +++ /etc/resolv.conf.original
    @@ -0,0 +1 @@
    +nameserver 127.0.0.11
write /etc/resolv.conf
    --- /etc/resolv.conf
    +++ /etc/resolv.conf
    @@ -1 +1 @@
    -nameserver 127.0.0.11
    +nameserver 172.18.0.1
write /kind/old-ipv4
    --- /dev/null
    +++ /kind/old-ipv4
    @@ -0,0 +1 @@
    +172.18.0.2
    \\ No newline at end of file
exec /sbin/init
`,
  );
  assert.deepEqual(real.logs, [
    // the fixture declares no DOCKER_OUTPUT chain, and this fake has no nft to look further
    "WARN: Docker's DNS rules are in no iptables backend, and nft is not in PATH to look for Docker's nftables table ip docker-dns; pods may not reach Docker's DNS",
    "INFO: detected IPv4 address: 172.18.0.2",
    "INFO: detected IPv6 address: ",
    "INFO: starting init",
  ]);
});

Deno.test("runDryRun() reports a failure a real run would hit, with its status", async () => {
  const real = node();
  real.dirs.delete("/kind");
  const { status, plan } = await runDryRun(real, ["/sbin/init"]);
  assert.equal(status, 1);
  assert.match(plan, /stop with exit status 1\n$/);
  assert.equal(
    real.logs.at(-1),
    "ERROR: enable_network_magic: Cannot write /kind/old-ipv4: no such file or directory",
  );
});

Deno.test("the dry-run host lets later reads see earlier planned writes", () => {
  const real = new FakeHost({ dirs: ["/etc"], files: { "/etc/a": "1\n" } });
  const { host, plan } = createDryRun(real);
  host.writeText("/etc/a", "2\n");
  assert.equal(host.readText("/etc/a"), "2\n");
  host.remove("/etc/a");
  assert.equal(host.kind("/etc/a"), undefined);
  assert.equal(real.files.get("/etc/a"), "1\n");
  assert.equal(plan.length, 2);
  assert.match(formatPlan(plan), /these 2 changes/);
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
