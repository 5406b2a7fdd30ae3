import assert from "node:assert/strict";
import { run } from "./run.ts";
import { type KindContext, STEPS } from "./steps.ts";
import { newHandoffs } from "./handoffs.ts";
import { FakeHost } from "../host/fake.ts";

function host(steps: string) {
  return new FakeHost({
    env: { KIND_ENTRYPOINT_STEPS: steps },
    files: { "/proc/self/uid_map": "         0          0 4294967295\n" },
    commands: {
      "systemd-machine-id-setup": { stdout: "Initializing machine ID from random generator.\n" },
      "iptables-legacy-save": { stdout: "" },
      "ip6tables-legacy-save": { stdout: "" },
      "iptables-nft-save": { stdout: "*nat\n-A OUTPUT -j DOCKER_OUTPUT\nCOMMIT\n" },
      "ip6tables-nft-save": { stdout: "" },
      "update-alternatives": {},
    },
  });
}

const noExec = Object.assign(() => Promise.resolve(undefined as never), {
  unsupported: () => undefined,
});

Deno.test("run() starts select_iptables' dumps before the first step, logs unchanged", async () => {
  const node = host("machine_id,iptables");
  await run(node, [], noExec);
  const runs = node.events.flatMap((e) => e.type === "run" ? [e.argv[0]] : []);
  assert.deepEqual(runs, [
    "iptables-legacy-save",
    "ip6tables-legacy-save",
    "iptables-nft-save",
    "ip6tables-nft-save",
    "systemd-machine-id-setup",
    "update-alternatives",
    "update-alternatives",
  ]);
  assert.deepEqual(node.logs, [
    "INFO: clearing and regenerating /etc/machine-id",
    "INFO: setting iptables to detected mode: nft",
    "INFO: starting init",
  ]);
});

Deno.test("run() starts no dump when select_iptables is not selected", async () => {
  const node = host("machine_id");
  await run(node, [], noExec);
  const runs = node.events.flatMap((e) => e.type === "run" ? [e.argv[0]] : []);
  assert.deepEqual(runs, ["systemd-machine-id-setup"]);
});

Deno.test("dns_check's prefetch: a rehearsal that throws in its timer becomes one WARN line", async () => {
  const node = new FakeHost();
  const step = STEPS.find((candidate) => candidate.name === "dns_check")!;
  const context: KindContext = {
    userns: false,
    handoffs: newHandoffs(),
    loadProbe: () =>
      Object.assign(() => ({ finish: () => [] }), {
        rehearse: () => {
          throw new Error("rehearsal broke");
        },
      }),
  };
  step.prefetch!(node, context);
  // The rehearsal's timer fires; an exception escaping it would fail this test as uncaught.
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(node.logs, [
    "WARN: DNS: the check's rehearsal failed: rehearsal broke",
  ]);
});

Deno.test("network_magic takes select_iptables' dump (its handoff) instead of running iptables-save", async () => {
  const rules = Deno.readTextFileSync(
    new URL("../../test/testdata/iptables/docker-udp.rules", import.meta.url),
  );
  const node = new FakeHost({
    env: { KIND_ENTRYPOINT_STEPS: "iptables,network_magic" },
    lookups: { "4:kind-control-plane": "172.18.0.2" },
    dirs: ["/etc", "/kind"],
    files: { "/etc/resolv.conf": "nameserver 127.0.0.11\n" },
    commands: {
      ip: { stdout: "default via 172.18.0.1 dev eth0 \n" },
      "iptables-legacy-save": { stdout: "" },
      "ip6tables-legacy-save": { stdout: "" },
      "iptables-nft-save": { stdout: rules },
      "ip6tables-nft-save": { stdout: "" },
      "update-alternatives": {},
      "iptables-restore": {},
    },
  });
  await run(node, [], noExec);
  const runs = node.events.flatMap((e) => e.type === "run" ? [e.argv[0]] : []);
  assert.equal(runs.filter((program) => program.endsWith("-save")).length, 4);
  assert.ok(runs.includes("iptables-restore"), runs.join(" "));
});
