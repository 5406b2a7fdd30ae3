import assert from "node:assert/strict";
import { run } from "./run.ts";
import { epochSeconds, peakRssKb, processAgeMillis, startTrace } from "./trace.ts";
import { FakeHost } from "../host/fake.ts";

Deno.test("startTrace() prints start-up, one line per step and VmHWM before exec", async () => {
  const host = new FakeHost({
    files: {
      "/proc/uptime": "100.50 3.00\n",
      "/proc/self/stat": "7 (deno (x)) S 1 7 7 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 10040 0\n",
      "/proc/self/status": "Name:\tdeno\nVmPeak:\t  9 kB\nVmHWM:\t   57596 kB\n",
    },
  });
  let clock = 1_000_000;
  const out: string[] = [];
  const trace = startTrace(host, {
    write: (t) => out.push(t),
    now: () => clock,
    sinceOrigin: () => 3.25,
  });
  clock += 4;
  await trace.step("mount", () => {
    clock += 12.5;
    return Promise.resolve();
  });
  await assert.rejects(
    trace.step("cgroup", () => {
      clock += 2;
      return Promise.reject(new Error("boom"));
    }),
  );
  clock += 1.5;
  trace.beforeExec();
  assert.deepEqual(out, [
    "TRACE: startup took 100 ms (process start to main, ±10 ms)\n",
    "TRACE: import took 3.3 ms (runtime time origin to main)\n",
    "TRACE: main at 1000.000000\n",
    "TRACE: setup took 4.0 ms (main to the first step)\n",
    "TRACE: step mount took 12.5 ms\n",
    "TRACE: step cgroup took 2.0 ms\n",
    "TRACE: finish took 1.5 ms (last step to exec)\n",
    "TRACE: exec at 1000.020000\n",
    "TRACE: VmHWM 57596 kB\n",
  ]);
});

Deno.test("startTrace() counts what main did before the trace as setup, not import, ", async () => {
  const clock = 2_000_000;
  const out: string[] = [];
  const trace = startTrace(new FakeHost(), {
    write: (t) => out.push(t),
    now: () => clock,
    sinceOrigin: () => 3.5,
    mainEnteredAt: 1.5,
  });
  await trace.step("mount", () => Promise.resolve());
  trace.beforeExec();
  assert.deepEqual(out, [
    "TRACE: import took 1.5 ms (runtime time origin to main)\n",
    "TRACE: main at 1999.998000\n",
    "TRACE: setup took 2.0 ms (main to the first step)\n",
    "TRACE: step mount took 0.0 ms\n",
    "TRACE: finish took 0.0 ms (last step to exec)\n",
    "TRACE: exec at 2000.000000\n",
  ]);
});

Deno.test("run() passes every step it runs through its observer, then beforeExec", async () => {
  const host = new FakeHost({
    env: { KIND_ENTRYPOINT_STEPS: "proxy,machine_id" },
    commands: { "systemd-machine-id-setup": {} },
  });
  const seen: string[] = [];
  await run(host, ["/sbin/init"], () => Promise.resolve(undefined as never), {
    observer: {
      step: (name, run) => {
        seen.push(name);
        return run();
      },
      beforeExec: () => seen.push("exec"),
    },
  });
  assert.deepEqual(seen, ["proxy", "machine_id", "exec"]);
  assert.ok(host.files.has("/etc/systemd/system.conf.d/proxy-default-environment.conf"));
});

Deno.test("peakRssKb() reads VmHWM and processAgeMillis() skips a command name with spaces", () => {
  assert.equal(peakRssKb("VmPeak:\t1 kB\nVmHWM:\t  42 kB\n"), 42);
  assert.equal(peakRssKb("VmPeak:\t1 kB\n"), undefined);
  const stat = "1 (a) b) S" + " 0".repeat(18) + " 250 0";
  assert.equal(processAgeMillis("3.00 1.00", stat), 500);
  assert.equal(epochSeconds(1500.25), "1.500250");
});
