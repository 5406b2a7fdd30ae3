import assert from "node:assert/strict";
import { EntrypointError } from "../errors.ts";
import { run } from "./run.ts";
import {
  deferStopSignals,
  noteStopSignal,
  releaseStopSignals,
  stopRequested,
  throwIfStopRequested,
} from "./signals.ts";
import { FakeHost } from "../host/fake.ts";

Deno.test("throwIfStopRequested() stops with 128 + the signal's number and says where", () => {
  noteStopSignal(undefined);
  throwIfStopRequested("before fix_mount");
  noteStopSignal("SIGTERM");
  noteStopSignal("SIGINT");
  assert.equal(stopRequested(), "SIGTERM");
  assert.throws(() => throwIfStopRequested("before fix_mount"), (error: unknown) => {
    assert.ok(error instanceof EntrypointError);
    assert.equal(error.message, "Stopped by SIGTERM before fix_mount; init was not started");
    assert.equal(error.exitCode, 143);
    return true;
  });
  noteStopSignal(undefined);
  noteStopSignal("SIGINT");
  assert.throws(() => throwIfStopRequested("after the last step"), { exitCode: 130 });
  noteStopSignal(undefined);
});

Deno.test("run() finishes the running step, then stops before the next one", async () => {
  noteStopSignal(undefined);
  const host = new FakeHost({
    env: { KIND_ENTRYPOINT_STEPS: "proxy,mount" },
    files: { "/proc/self/uid_map": "         0          0 4294967295\n" },
  });
  // the signal arrives while the proxy step writes its file
  const write = host.writeText.bind(host);
  host.writeText = (file, data) => {
    noteStopSignal("SIGTERM");
    write(file, data);
  };
  let execed = false;
  await assert.rejects(
    run(host, ["/sbin/init"], () => {
      execed = true;
      return Promise.resolve(undefined as never);
    }),
    { message: "Stopped by SIGTERM before fix_mount; init was not started", exitCode: 143 },
  );
  assert.ok(host.files.has("/etc/systemd/system.conf.d/proxy-default-environment.conf"));
  assert.ok(!host.logs.some((line) => line.includes("ensuring we can execute mount")));
  assert.equal(execed, false);
  noteStopSignal(undefined);
});

Deno.test("deferStopSignals() turns a real SIGTERM into a note instead of death", async () => {
  noteStopSignal(undefined);
  deferStopSignals();
  try {
    Deno.kill(Deno.pid, "SIGTERM");
    // polls for up to 10 s: the listener runs when a loaded machine lets the event loop turn
    for (let i = 0; i < 1000 && stopRequested() === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(stopRequested(), "SIGTERM");
  } finally {
    releaseStopSignals();
    noteStopSignal(undefined);
  }
});

Deno.test("deferStopSignals() turns a real SIGRTMIN+3 (docker stop) into a note instead of death", async () => {
  noteStopSignal(undefined);
  deferStopSignals();
  try {
    // Neither Deno.kill nor process.kill can send a real-time signal.
    const kill = await new Deno.Command("bash", {
      args: ["-c", `kill -s RTMIN+3 ${Deno.pid}`],
    }).output();
    assert.equal(kill.code, 0);
    // polls for up to 10 s: the listener runs when a loaded machine lets the event loop turn
    for (let i = 0; i < 1000 && stopRequested() === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(stopRequested(), "SIGRTMIN+3");
    assert.throws(() => throwIfStopRequested("before fix_mount"), {
      message: "Stopped by SIGRTMIN+3 before fix_mount; init was not started",
      exitCode: 165,
    });
  } finally {
    releaseStopSignals();
    noteStopSignal(undefined);
  }
});

/** Whether this process has a handler for signal `n` (SigCgt of /proc/self/status). */
function caught(n: number): boolean {
  const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(Deno.readTextFileSync("/proc/self/status"))![1];
  return (BigInt(`0x${mask}`) >> BigInt(n - 1)) & 1n ? true : false;
}

Deno.test("releaseStopSignals() gives SIGRTMIN+3 back its default action and drops the listeners", async () => {
  deferStopSignals();
  assert.equal(caught(37), true, "SIGRTMIN+3 has its handler");
  releaseStopSignals();
  assert.equal(caught(37), false);
  // Without a listener a SIGTERM ends the process again: tried in a process of its own.
  const signals = new URL("./signals.ts", import.meta.url).href;
  const script = `import { deferStopSignals, releaseStopSignals } from ${JSON.stringify(signals)};
deferStopSignals();
releaseStopSignals();
Deno.kill(Deno.pid, "SIGTERM");
await new Promise((resolve) => setTimeout(resolve, 2000));`;
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "null",
    stderr: "null",
  }).output();
  assert.equal(status.signal, "SIGTERM");
});
