import assert from "node:assert/strict";
import { runBounded, runCommand, type Streams } from "./command.ts";
import { CommandError } from "../errors.ts";

/** Streams that keep what `runCommand` forwards or warns about. */
function capture(): Streams & { out: string; err: string } {
  const decoder = new TextDecoder();
  const streams = {
    out: "",
    err: "",
    stdout(bytes: Uint8Array) {
      streams.out += decoder.decode(bytes);
    },
    stderr(bytes: Uint8Array) {
      streams.err += decoder.decode(bytes);
    },
  };
  return streams;
}

/** Whether process `pid` still exists (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(Deno.readTextFileSync(`/proc/${pid}/status`));
  } catch {
    return false;
  }
}

Deno.test("runCommand() stops a hanging command at its bound, says so and tolerates it only with nothrow", async () => {
  const streams = capture();
  const start = Date.now();
  await assert.rejects(runCommand(["sleep", "30"], { timeoutMs: 300 }, streams), (error) => {
    assert.ok(error instanceof CommandError);
    assert.equal(error.message, "Command `sleep 30` timed out after 300 ms");
    assert.equal(error.exitCode, 124);
    return true;
  });
  assert.ok(Date.now() - start < 3000, "returned within the bound and the grace period");
  const result = await runCommand(["sleep", "30"], { timeoutMs: 200, nothrow: true }, streams);
  assert.deepEqual({ status: result.status, timedOut: result.timedOut }, {
    status: null,
    timedOut: true,
  });
  assert.equal(streams.err, "WARN: Command `sleep 30` timed out after 200 ms\n");
});

Deno.test("runBounded() kills a command that ignores SIGTERM after the grace period", async () => {
  const start = Date.now();
  const result = await runBounded(["bash", "-c", "trap '' TERM; sleep 30; echo survived"], {
    timeoutMs: 200,
    graceMs: 300,
  });
  assert.equal(result.timedOut, true);
  assert.equal(result.exitCode, null);
  assert.equal(result.stdout, "");
  assert.ok(Date.now() - start < 3000);
});

Deno.test("runBounded() stops everything the command started: its process group gets the signal", async () => {
  // The background sleep prints its PID and holds stdout: only a kill of the group ends it.
  const result = await runBounded(["bash", "-c", "sleep 30 & echo $!; wait"], { timeoutMs: 300 });
  assert.equal(result.timedOut, true);
  const pid = Number(result.stdout.trim());
  assert.ok(pid > 0, result.stdout);
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(alive(pid), false, "the command's child was killed with it");
});

Deno.test("runBounded() runs a program that starts none in the entrypoint's session and still stops it at its bound", async () => {
  // Field 6 of /proc/PID/stat is the session: the caller's, not a session of cat's own.
  const session = (stat: string) => stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3];
  const own = session(Deno.readTextFileSync("/proc/self/stat"));
  const cat = await runBounded(["cat", "/proc/self/stat"], {
    timeoutMs: 5000,
    startsNoPrograms: true,
  });
  assert.equal(session(cat.stdout), own);
  const start = Date.now();
  // Signalled by its PID: a signal to a process group of that number would reach nothing.
  const sleep = await runBounded(["sleep", "30"], {
    timeoutMs: 200,
    startsNoPrograms: true,
    abandonMs: 10_000,
  });
  assert.deepEqual({ exitCode: sleep.exitCode, timedOut: sleep.timedOut }, {
    exitCode: null,
    timedOut: true,
  });
  assert.ok(Date.now() - start < 3000);
});

Deno.test("runBounded() returns when a process outside the group keeps the output pipe open", async () => {
  const start = Date.now();
  // setsid puts the child out of the command's process group: nothing can kill it for us.
  const result = await runBounded(["bash", "-c", "setsid sleep 3 & echo started"], {
    timeoutMs: 200,
    graceMs: 100,
    abandonMs: 100,
  });
  assert.equal(result.timedOut, true);
  assert.equal(result.stdout, "started\n", "what came before the pipe was abandoned is kept");
  assert.ok(Date.now() - start < 2500);
});

Deno.test("runCommand() passes every argument to the program as one word, never to a shell", async () => {
  const nasty = [
    "$(touch /tmp/kind-entrypoint-pwned)",
    "`id`",
    "a'b\"c",
    "two\nlines",
    "tab\there",
    "*",
    "; rm -rf /nonexistent",
    "back\\slash",
    "",
    "ünïcode ✓",
    "\u0001\u007f",
  ];
  const { stdout } = await runCommand(["printf", "%s\\0", ...nasty]);
  assert.deepEqual(stdout.split("\0").slice(0, -1), nasty);
  assert.throws(() => Deno.statSync("/tmp/kind-entrypoint-pwned"), Deno.errors.NotFound);
});

Deno.test("runCommand() closes stdin unless there is input, and collects large output whole", async () => {
  // cat would wait for ever on an inherited terminal; closed, it sees the end at once.
  const empty = await runCommand(["cat"], { timeoutMs: 2000 });
  assert.equal(empty.stdout, "");
  const input = "line ✓\n".repeat(100_000);
  const echoed = await runCommand(["cat"], { input });
  assert.equal(echoed.stdout, input);
  const both = await runCommand(["sh", "-c", "echo out; echo err >&2"], { stderr: "capture" });
  assert.deepEqual([both.stdout, both.stderr], ["out\n", "err\n"]);
});

Deno.test("runCommand() reports the status of a command that exits without reading its input", async () => {
  // more than a pipe buffer, so the write is still going on when the program has exited (EPIPE)
  const input = "x".repeat(4 << 20);
  for (let i = 0; i < 5; i++) {
    const result = await runCommand(["sh", "-c", "exit 3"], { input, nothrow: true });
    assert.equal(result.status, 3);
  }
  await assert.rejects(runCommand(["sh", "-c", "exit 3"], { input }), { exitCode: 3 });
});

Deno.test("runCommand() fails with the argv, status and stderr, and nothrow returns them instead", async () => {
  const argv = ["sh", "-c", "echo partial; echo 'no such chain' >&2; exit 2"];
  const streams = capture();
  await assert.rejects(runCommand(argv, {}, streams), (error) => {
    assert.ok(error instanceof CommandError);
    assert.deepEqual(error.argv, argv);
    assert.equal(error.status, 2);
    assert.equal(error.stderr, "no such chain\n");
    assert.equal(error.exitCode, 2);
    return true;
  });
  assert.equal(streams.err, "no such chain\n", "stderr is forwarded by default");
  const result = await runCommand(
    argv,
    { nothrow: true, stdout: "forward", stderr: "ignore" },
    streams,
  );
  assert.deepEqual([result.status, result.stdout, result.stderr], [2, "", ""]);
  assert.equal(streams.out, "partial\n");
});

Deno.test("runCommand() answers like bash for a program that cannot be started: 127 not found, 126 not executable", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const plain = `${dir}/not-executable`;
    Deno.writeTextFileSync(plain, "#!/bin/sh\n");
    const missing = await runBounded(["kind-no-such-program"], { timeoutMs: 1000 });
    assert.deepEqual(missing, {
      exitCode: 127,
      stdout: "",
      stderr: "kind-no-such-program: command not found\n",
      timedOut: false,
    });
    const denied = await runBounded([plain], { timeoutMs: 1000 });
    assert.deepEqual([denied.exitCode, denied.stderr], [126, `${plain}: Permission denied\n`]);
    await assert.rejects(runCommand(["kind-no-such-program", "x"], {}, capture()), {
      message: "Command `kind-no-such-program x` could not be run: command not found in PATH",
      exitCode: 127,
    });
    await assert.rejects(runCommand([plain], {}, capture()), {
      message: `Command \`${plain}\` could not be run: Permission denied`,
      exitCode: 126,
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("runCommand() answers 126 Permission denied, as bash does, for a name found in PATH but not executable", async () => {
  const dir = Deno.makeTempDirSync();
  const path = Deno.env.get("PATH");
  try {
    Deno.mkdirSync(`${dir}/plain`);
    Deno.mkdirSync(`${dir}/later`);
    Deno.writeTextFileSync(`${dir}/plain/kind-not-executable`, "#!/bin/sh\n");
    Deno.writeTextFileSync(`${dir}/plain/kind-shadowed`, "#!/bin/sh\nexit 3\n");
    Deno.writeTextFileSync(`${dir}/later/kind-shadowed`, "#!/bin/sh\nexit 4\n", { mode: 0o755 });
    Deno.env.set("PATH", `${dir}/plain:${dir}/later:${path}`);
    const denied = await runBounded(["kind-not-executable"], { timeoutMs: 1000 });
    assert.deepEqual([denied.exitCode, denied.stderr], [
      126,
      `kind-not-executable: ${dir}/plain/kind-not-executable: Permission denied\n`,
    ]);
    await assert.rejects(runCommand(["kind-not-executable"], {}, capture()), {
      message:
        `Command \`kind-not-executable\` could not be run: ${dir}/plain/kind-not-executable: Permission denied`,
      exitCode: 126,
    });
    Deno.writeTextFileSync(`${dir}/later/kind-bad-interpreter`, "#!/nonexistent/sh\n", {
      mode: 0o755,
    });
    const badInterpreter = await runBounded(["kind-bad-interpreter"], { timeoutMs: 1000 });
    assert.equal(badInterpreter.exitCode, 127);
    // An executable file later in PATH wins over a plain one before it.
    const shadowed = await runBounded(["kind-shadowed"], { timeoutMs: 1000 });
    assert.equal(shadowed.exitCode, 4);
  } finally {
    if (path === undefined) Deno.env.delete("PATH");
    else Deno.env.set("PATH", path);
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("runBounded() starts the program in a session of its own", async () => {
  const result = await runBounded(["sh", "-c", "cut -d' ' -f6 /proc/$$/stat; echo $$"], {
    timeoutMs: 2000,
  });
  const [session, pid] = result.stdout.trim().split("\n");
  assert.equal(session, pid);
});
