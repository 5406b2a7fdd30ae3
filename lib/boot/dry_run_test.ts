import assert from "node:assert/strict";
import { formatPlan, runDryRun } from "./dry_run.ts";
import type { Changes } from "../host/host.ts";
import { FakeHost, type FakeHostOptions } from "../host/fake.ts";

// What iptables-save prints in a node on a user-defined Docker network (one protocol kept):
// every chain a rule names is declared.
const SAVE = Deno.readTextFileSync(
  new URL("../../test/testdata/iptables/docker-udp.rules", import.meta.url),
);

const NODE_OPTIONS: FakeHostOptions = {
  env: { KIND_ENTRYPOINT_STEPS: "network_magic" },
  lookups: { "4:kind-control-plane": "172.18.0.2" },
  dirs: ["/etc", "/kind"],
  files: { "/etc/resolv.conf": "nameserver 127.0.0.11\n" },
  commands: {
    ip: { stdout: "default via 172.18.0.1 dev eth0 \n" },
    "iptables-save": { stdout: SAVE },
  },
};

function node() {
  return new FakeHost(NODE_OPTIONS);
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
# A real run would make 4 changes, then exec /sbin/init; the changes, in order:
run iptables-restore
    --- before
    +++ after
    @@ -5,8 +5,9 @@
     :POSTROUTING ACCEPT [0:0]
     :DOCKER_OUTPUT - [0:0]
     :DOCKER_POSTROUTING - [0:0]
    --A OUTPUT -d 127.0.0.11/32 -j DOCKER_OUTPUT
    --A POSTROUTING -d 127.0.0.11/32 -j DOCKER_POSTROUTING
    --A DOCKER_OUTPUT -d 127.0.0.11/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:45927
    --A DOCKER_POSTROUTING -s 127.0.0.11/32 -p udp -m udp --sport 45927 -j SNAT --to-source :53
    +-A OUTPUT -d 172.18.0.1/32 -j DOCKER_OUTPUT
    +-A PREROUTING -d 172.18.0.1/32 -j DOCKER_OUTPUT
    +-A POSTROUTING -d 172.18.0.1/32 -j DOCKER_POSTROUTING
    +-A DOCKER_OUTPUT -d 172.18.0.1/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:45927
    +-A DOCKER_POSTROUTING -s 127.0.0.11/32 -p udp -m udp --sport 45927 -j SNAT --to-source 172.18.0.1:53
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
    "INFO: detected IPv4 address: 172.18.0.2",
    "INFO: detected IPv6 address: ",
    "INFO: (dry run) would start init",
  ]);
});

Deno.test("runDryRun() reports a failure a real run would hit, with its status", async () => {
  const real = node();
  real.dirs.delete("/kind");
  const { status, plan } = await runDryRun(real, ["/sbin/init"]);
  assert.equal(status, 1);
  assert.match(plan, /^# A real run would make 3 changes, then stop with exit status 1; /m);
  assert.match(plan, /\nstop with exit status 1\n$/);
  assert.equal(
    real.logs.at(-1),
    "ERROR: enable_network_magic: Cannot write /kind/old-ipv4: no such file or directory",
  );
});

Deno.test("formatPlan() counts only changes, with the right grammar", () => {
  const header = (changes: string[], end?: string) =>
    formatPlan({ changes, undecided: [], end }).split("\n")[1];
  assert.equal(
    header([], "exec /sbin/init"),
    "# A real run would make no changes, then exec /sbin/init.",
  );
  assert.equal(
    header(["rm -f /x"], "stop with exit status 2"),
    "# A real run would make 1 change, then stop with exit status 2; the change:",
  );
  assert.equal(
    header(["rm -f /x", "rm -f /y"], "exec true"),
    "# A real run would make 2 changes, then exec true; the changes, in order:",
  );
});

/** The change side of a host, every member of which fails the test when called. */
const FORBIDDEN_CHANGES: (keyof Changes)[] = [
  "run",
  "writeText",
  "copyFile",
  "mkdirp",
  "remove",
  "rmdir",
  "chmod",
  "chown",
  "mount",
  "announce",
  "trial",
];

/** A FakeHost whose change side throws: only its queries may be used. */
function queriesOnly(options: FakeHostOptions): FakeHost {
  const host = new FakeHost(options);
  for (const name of FORBIDDEN_CHANGES) {
    Object.defineProperty(host, name, {
      value: () => {
        throw new Error(`the dry run reached the real host's ${name}()`);
      },
    });
  }
  return host;
}

const CGROUPNS_MOUNTINFO = Deno.readTextFileSync(
  new URL("../../test/testdata/mountinfo/docker-v1-cgroupns-misc.txt", import.meta.url),
);
const CGROUPNS_CGROUP = Deno.readTextFileSync(
  new URL("../../test/testdata/cgroup/docker-v1-cgroupns-misc.txt", import.meta.url),
);

/**
 * A rootless node on cgroup v1 where every step has work: a user namespace (so containerd's
 * overlayfs trial is due), misc controller, DMI files, an old IPv4 address and a certificate.
 */
function rootlessNode(): FakeHostOptions {
  return {
    dirs: [
      "/etc",
      "/etc/containerd",
      "/etc/kubernetes/manifests",
      "/etc/kubernetes/pki",
      "/kind",
      "/run",
      "/sys/fs/cgroup/misc",
      "/sys/class/dmi/id",
      "/sys/devices/virtual/dmi/id",
    ],
    files: {
      "/proc/self/uid_map": "         0     100000      65536\n",
      "/proc/self/limits":
        "Max open files            1048576              1048576              files\n",
      "/proc/self/cgroup": CGROUPNS_CGROUP,
      "/proc/self/mountinfo": CGROUPNS_MOUNTINFO,
      "/proc/cgroups":
        "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t2\t1\t1\nmisc\t3\t1\t1\n",
      "/proc/1/stat": "1 (entrypoint) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 4242 0\n",
      "/etc/containerd/config.toml": 'snapshotter = "overlayfs"\nrestrict_oom_score_adj = false\n',
      "/proc/sys/kernel/random/uuid": "4a1f6a4e-0c1b-4d5e-9a8f-2b3c4d5e6f70\n",
      "/sys/class/dmi/id/product_name": "Standard PC\n",
      "/sys/class/dmi/id/product_uuid": "0000\n",
      "/etc/machine-id": "0123\n",
      "/etc/resolv.conf": "nameserver 127.0.0.11\noptions ndots:0\n",
      "/kind/old-ipv4": "172.18.0.9\n",
      "/etc/kubernetes/manifests/etcd.yaml": "- --advertise-client-urls=https://172.18.0.9:2379\n",
      "/etc/kubernetes/pki/apiserver.crt": "crt",
      "/etc/kubernetes/pki/apiserver.key": "key",
      "/sys/fs/cgroup/cpuset/cpuset.cpus": "0-1\n",
      "/sys/fs/cgroup/cpuset/cpuset.mems": "0\n",
      "/usr/bin/mount": "",
      "/usr/bin/umount": "",
    },
    modes: { "/usr/bin/mount": 0o4755, "/usr/bin/umount": 0o4755 },
    executables: { mount: "/usr/bin/mount", umount: "/usr/bin/umount" },
    filesystems: { "/kind": "overlayfs", "/usr/bin/mount": "overlayfs" },
    lookups: { "4:kind-control-plane": "172.18.0.2" },
    commands: {
      "iptables-legacy-save": { stdout: "" },
      "ip6tables-legacy-save": { stdout: "" },
      "iptables-nft-save": { stdout: SAVE },
      "ip6tables-nft-save": { stdout: "" },
      ip: { stdout: "default via 172.18.0.1 dev eth0 \n" },
      "iptables-save": {
        stdout: SAVE.replace(":OUTPUT ACCEPT [0:0]\n", "$&:DOCKER_OUTPUT - [0:0]\n"),
      },
    },
  };
}

Deno.test("a dry run of a node where every step has work never reaches a change of the real host", async () => {
  const real = queriesOnly(rootlessNode());
  const { status, plan } = await runDryRun(real, ["/sbin/init"]);
  assert.equal(status, 0, real.logs.join("\n"));
  // The overlayfs trial is not made: the plan says so, with what it assumed.
  assert.ok(
    plan.includes(
      "\n# Not decided without a trial that changes the node (a real run makes it):\n" +
        "#   whether overlayfs can be mounted in this user namespace (kind tries a trial mount): " +
        "assumed it can, so containerd keeps the overlayfs snapshotter\n# A real run would make ",
    ),
  );
  for (
    const entry of [
      "run mount -o remount,ro /sys",
      "run umount /sys/fs/cgroup/misc",
      "rm -f /etc/machine-id",
      "run mount -o ro,bind /kind/product_uuid /sys/class/dmi/id/product_uuid",
      "run update-alternatives --set iptables /usr/sbin/iptables-nft",
      "write /etc/kubernetes/manifests/etcd.yaml",
      "run kubeadm init phase certs apiserver --config /kind/kubeadm.conf",
    ]
  ) {
    assert.ok(plan.includes(`\n${entry}\n`), `${entry} is planned`);
  }
  assert.doesNotMatch(plan, /mktemp|unchanged/);
  // Announcements are worded as a plan; what was detected is said as it is.
  const info = real.logs.filter((line) => line.startsWith("INFO: "));
  assert.ok(info.includes("INFO: running in a user namespace (experimental)"));
  assert.ok(info.includes("INFO: (dry run) would clear and regenerate /etc/machine-id"));
  assert.ok(info.includes("INFO: (dry run) would remove misc controller"));
  assert.equal(info.at(-1), "INFO: (dry run) would start init");
  assert.deepEqual(
    info.filter((line) => /^INFO: [a-z]+ing\b/.test(line) && !line.includes("running in a user")),
    [],
    "no line says it is doing what a dry run does not do",
  );
});

/** Calls of `query()`, each with whether the type checker must refuse it and why. */
const QUERY_CALLS: { argv: string; refused: boolean }[] = [
  // mktemp creates a directory: a change, for run()
  { argv: `["mktemp", "-d"]`, refused: true },
  // iptables-restore replaces the rules
  { argv: `["iptables-restore"]`, refused: true },
  // only `ip -4 route show default` and `ip -4 -o addr show` are queries
  { argv: `["ip", "route", "add", "default", "via", "10.0.0.1"]`, refused: true },
  { argv: `["iptables-nft-save"]`, refused: false },
  { argv: `["ip", "-4", "route", "show", "default"]`, refused: false },
];

Deno.test("query() takes only read-only programs: `deno check` refuses a program that changes the node", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    // One call a line, from line 3 on, so each type error names its call by line.
    const hostModule = new URL("../host/host.ts", import.meta.url).href;
    const lines = [
      `import type { CommandQueries } from ${JSON.stringify(hostModule)};`,
      "export const calls = (host: CommandQueries): unknown[] => [",
      ...QUERY_CALLS.map((call) => `  host.query(${call.argv}),`),
      "];",
      "",
    ];
    Deno.writeTextFileSync(`${dir}/calls.ts`, lines.join("\n"));
    const config = new URL("../../deno.json", import.meta.url).pathname;
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["check", "-q", "--config", config, `${dir}/calls.ts`],
      env: { NO_COLOR: "1" },
    }).output();
    const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.notEqual(code, 0, `deno check passed, so query() takes any program:\n${output}`);
    const refusedLines = [...output.matchAll(/^\s+at file:\/\/\S+\/calls\.ts:(\d+):\d+$/gm)]
      .map((match) => Number(match[1]));
    const expected = QUERY_CALLS.flatMap((call, index) => call.refused ? [index + 3] : []);
    assert.deepEqual(refusedLines, expected, output);
    assert.match(output, new RegExp(`Found ${expected.length} errors`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("runDryRun() sends no DNS probe, even when handed a prober", async () => {
  const real = new FakeHost({
    ...NODE_OPTIONS,
    env: { KIND_ENTRYPOINT_STEPS: "network_magic,dns_check" },
  });
  let loaded = 0;
  const { status } = await runDryRun(real, ["/sbin/init"], {
    loadProbe: () => {
      loaded++;
      return () => ({ finish: () => [] });
    },
  });
  assert.equal(status, 0);
  assert.equal(loaded, 0);
});
