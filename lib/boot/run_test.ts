import assert from "node:assert/strict";
import { EntrypointError } from "../errors.ts";
import { type ExecFn, reportFailure, run } from "./run.ts";
import { BOOT_MARKER, PID1_STAT } from "./rerun.ts";
import { STEPS } from "./steps.ts";
import { selectSteps } from "./switches.ts";
import { FakeHost, type FakeHostOptions } from "../host/fake.ts";

const SAVE = Deno.readTextFileSync(
  new URL("../../test/testdata/iptables/docker-udp-output.rules", import.meta.url),
);

/** A cgroup v2 node as Docker starts it, with everything the steps read. */
function node(options: FakeHostOptions = {}): FakeHost {
  return new FakeHost({
    ...options,
    files: {
      "/proc/self/uid_map": "         0          0 4294967295\n",
      "/proc/self/limits":
        "Max open files            1048576              1048576              files\n",
      "/sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory pids\n",
      "/etc/containerd/config.toml": 'snapshotter = "overlayfs"\n',
      "/proc/sys/kernel/random/uuid": "4a1f6a4e-0c1b-4d5e-9a8f-2b3c4d5e6f70\n",
      "/etc/resolv.conf": "nameserver 127.0.0.11\noptions ndots:0\n",
      "/usr/bin/mount": "",
      "/usr/bin/umount": "",
      ...options.files,
    },
    executables: { mount: "/usr/bin/mount", umount: "/usr/bin/umount" },
    lookups: { "4:kind-control-plane": "172.18.0.2" },
    commands: {
      "stat -f -c %T /kind": { stdout: "overlayfs\n" },
      "mktemp -d": { stdout: "/tmp/tmp.Q3bXrMkq1v\n" },
      mkdir: {},
      rm: {},
      "stat -f -c %T /usr/bin/mount": { stdout: "overlayfs\n" },
      "systemd-machine-id-setup": { stdout: "Initializing machine ID from random generator.\n" },
      "iptables-legacy-save": { stdout: "" },
      "ip6tables-legacy-save": { stdout: "" },
      "iptables-nft-save": { stdout: SAVE },
      "ip6tables-nft-save": { stdout: "" },
      "update-alternatives": {},
      ip: { stdout: "default via 172.18.0.1 dev eth0 \n" },
      "iptables-save": { stdout: SAVE },
      "iptables-restore": {},
      ...options.commands,
    },
  });
}

/** An exec that records its command instead of replacing the process. */
function recordingExec(unsupported?: string): ExecFn & { calls: (readonly string[])[] } {
  const calls: (readonly string[])[] = [];
  const exec = (argv: readonly string[]) => {
    calls.push(argv);
    return Promise.resolve(undefined as never);
  };
  return Object.assign(exec, { calls, unsupported: () => unsupported });
}

Deno.test("STEPS lists kind's functions in kind's order, then the DNS check (not kind's)", () => {
  assert.deepEqual(STEPS.map((step) => step.original ?? `(${step.name})`), [
    "validate_userns",
    "configure_containerd",
    "configure_proxy",
    "fix_mount",
    "fix_cgroup",
    "fix_machine_id",
    "fix_product_name",
    "fix_product_uuid",
    "select_iptables",
    "enable_network_magic",
    "(dns_check)",
  ]);
});

Deno.test("run() logs kind's lines in kind's order and then execs the command", async () => {
  const host = node();
  const exec = recordingExec();
  await run(host, ["/sbin/init", "--log-level=info"], exec);
  assert.deepEqual(host.logs, [
    "INFO: ensuring we can execute mount/umount even with userns-remap",
    "INFO: remounting /sys read-only",
    "INFO: making mounts shared",
    "INFO: detected cgroup v2",
    "INFO: clearing and regenerating /etc/machine-id",
    "INFO: setting iptables to detected mode: nft",
    "INFO: detected IPv4 address: 172.18.0.2",
    "INFO: detected IPv6 address: ",
    "INFO: starting init",
  ]);
  assert.deepEqual(exec.calls, [["/sbin/init", "--log-level=info"]]);
});

Deno.test("run() reports the user namespace before any step", async () => {
  const host = node({
    files: {
      "/proc/self/uid_map": "         0       1000          1\n         1     100000      65536\n",
      "/proc/self/limits":
        "Max open files            1024                 1024                 files\n",
    },
  });
  await run(host, [], recordingExec());
  assert.deepEqual(host.logs.slice(0, 3), [
    "INFO: running in a user namespace (experimental)",
    "WARN: UserNS: expected RLIMIT_NOFILE to be at least 64000, got 1024",
    "INFO: ensuring we can execute mount/umount even with userns-remap",
  ]);
  assert.equal(host.files.get("/etc/containerd/config.toml"), 'snapshotter = "overlayfs"\n');
});

Deno.test("run() refuses a runtime that cannot exec before changing anything", async () => {
  const host = node();
  const exec = recordingExec(
    "Cannot exec: this runtime (Node.js v20.0.0) cannot replace its process; run the entrypoint with deno run -A",
  );
  await assert.rejects(run(host, ["/sbin/init"], exec), (error: unknown) => {
    assert.ok(error instanceof EntrypointError);
    // bash's status for a command it cannot execute
    assert.equal(error.exitCode, 126);
    assert.match(error.message, /^Cannot exec: this runtime \(Node\.js v20\.0\.0\)/);
    return true;
  });
  assert.deepEqual(host.events, []);
  assert.deepEqual(exec.calls, []);
});

Deno.test("run() without a command runs the steps and ends, like bash's bare exec", async () => {
  const host = node({ env: { KIND_ENTRYPOINT_STEPS: "proxy" } });
  const exec = recordingExec("cannot exec here");
  await run(host, [], exec);
  assert.deepEqual(host.logs, ["INFO: starting init"]);
  assert.deepEqual(exec.calls, []);
});

Deno.test("run() records the boot after a whole run only, not after KIND_ENTRYPOINT_STEPS' part", async () => {
  const stat = "1 (entrypoint) S 0 1 1 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 4242 0\n";
  const part = node({ env: { KIND_ENTRYPOINT_STEPS: "proxy" }, files: { [PID1_STAT]: stat } });
  await run(part, ["/sbin/init"], recordingExec());
  assert.equal(part.files.get(BOOT_MARKER), undefined);
  const whole = node({ files: { [PID1_STAT]: stat } });
  await run(whole, ["/sbin/init"], recordingExec());
  assert.equal(whole.files.get(BOOT_MARKER), "4242\n");
});

Deno.test("reportFailure() logs one ERROR line and returns the failure's status, or 1 for an unexpected one", () => {
  const host = new FakeHost();
  assert.equal(reportFailure(host, new EntrypointError("Cannot do it", { exitCode: 32 })), 32);
  assert.equal(reportFailure(host, new TypeError("x is undefined")), 1);
  assert.deepEqual(host.logs.map((line) => line.split("\n")[0]), [
    "ERROR: Cannot do it",
    "ERROR: Unexpected failure: TypeError: x is undefined",
  ]);
});

Deno.test("run() with KIND_ENTRYPOINT_STEPS=none changes nothing and execs", async () => {
  const host = node({ env: { KIND_ENTRYPOINT_STEPS: "none" } });
  const exec = recordingExec();
  await run(host, ["/sbin/init"], exec);
  assert.deepEqual(host.events, [{ type: "log", level: "INFO", message: "starting init" }]);
  assert.deepEqual(exec.calls, [["/sbin/init"]]);
});

Deno.test("run() stops at a failing step with its status, naming kind's function", async () => {
  const host = node({ failingMounts: ["mount --make-rshared /"] });
  const exec = recordingExec();
  await assert.rejects(run(host, ["/sbin/init"], exec), (error: unknown) => {
    assert.ok(error instanceof EntrypointError);
    assert.equal(error.exitCode, 32);
    assert.match(error.message, /^fix_mount: Command `mount --make-rshared \/` exited/);
    return true;
  });
  assert.equal(host.logs.at(-1), "INFO: making mounts shared");
  assert.deepEqual(exec.calls, []);
});

Deno.test("run() prints kind's own error line for undelegated controllers", async () => {
  const host = node({
    files: {
      "/proc/self/uid_map": "         0       1000          1\n",
      "/sys/fs/cgroup/cgroup.controllers": "cpuset io memory pids\n",
    },
  });
  await assert.rejects(run(host, ["/sbin/init"], recordingExec()), (error: unknown) => {
    assert.ok(error instanceof EntrypointError);
    assert.equal(error.message, "UserNS: cpu controller needs to be delegated");
    assert.equal(error.exitCode, 1);
    return true;
  });
});

Deno.test("selectSteps() takes names, none, or nothing", () => {
  assert.equal(selectSteps(undefined, STEPS), undefined);
  assert.equal(selectSteps(" ", STEPS), undefined);
  assert.deepEqual(selectSteps("none", STEPS), new Set());
  assert.deepEqual(selectSteps("mount, proxy", STEPS), new Set(["mount", "proxy"]));
  assert.throws(() => selectSteps("none,mount", STEPS), /cannot be combined/);
  assert.throws(() => selectSteps("mounts", STEPS), /unknown steps: mounts/);
});

Deno.test("run() sends the DNS check's queries once resolv.conf is written, and warns before starting init", async () => {
  const host = node();
  const exec = recordingExec();
  let startedAfter: unknown;
  await run(host, ["/sbin/init"], exec, {
    loadProbe: () => (request) => {
      startedAfter = host.events[host.events.length - 1];
      assert.equal(request.server, "172.18.0.1");
      return {
        finish: () => [{ transport: "UDP", answered: false, ms: 0.2, error: "connection refused" }],
      };
    },
  });
  assert.deepEqual(startedAfter, {
    type: "write",
    path: "/etc/resolv.conf",
    data: "nameserver 172.18.0.1\noptions ndots:0\n",
  });
  const logs = host.logs;
  assert.match(logs[logs.length - 2], /^WARN: DNS: nameserver 172\.18\.0\.1 /);
  assert.equal(logs[logs.length - 1], "INFO: starting init");
});

Deno.test("run() goes on to init when loading the DNS prober throws, with one WARN line", async () => {
  const host = node();
  const exec = recordingExec();
  await run(host, ["/sbin/init"], exec, {
    loadProbe: () => {
      throw new Error("Cannot bind libc: no such symbol");
    },
  });
  const logs = host.logs;
  assert.deepEqual(logs.filter((line) => line.startsWith("WARN")), [
    "WARN: DNS: the check of nameserver 172.18.0.1 could not run: Cannot bind libc: no such symbol",
  ]);
  assert.equal(logs[logs.length - 1], "INFO: starting init");
  assert.deepEqual(exec.calls, [["/sbin/init"]]);
});
