import assert from "node:assert/strict";
import { commandFailure } from "../lib/host.ts";
import { createHost, whichSync } from "../lib/real_host.ts";
import { filesystemName } from "../lib/syscalls.ts";
import { CommandError } from "../lib/errors.ts";
import { onRealHost } from "./real_host_program.ts";

/** A real host whose commands are bounded by `ms`. */
function hostWithBound(ms: number) {
  return createHost({ commandTimeoutMs: ms });
}

Deno.test("run() keeps a call's own bound, and the host's bound replaces every call's", async () => {
  const bounds = [{ callBound: 200 }, { hostBound: 200, callBound: 60_000 }];
  for (const bound of bounds) {
    const answer = await onRealHost({
      call: "run",
      argv: ["sleep", "30"],
      nothrow: true,
      ...bound,
    });
    assert.equal(answer.result?.timedOut, true);
    // 200 ms and the 1 s grace period, with room for a loaded machine, under the 10 s default
    assert.ok(answer.ms < 8000);
    // Tolerated, but a hang is worth a line in the node's log.
    assert.equal(answer.stderr, "WARN: Command `sleep 30` timed out after 200 ms\n");
  }
});

Deno.test("run() stops a hanging command at its bound and says so", async () => {
  const host = hostWithBound(300);
  const start = Date.now();
  await assert.rejects(host.run(["sleep", "30"]), (error: unknown) => {
    assert.ok(error instanceof CommandError);
    assert.equal(error.message, "Command `sleep 30` timed out after 300 ms");
    assert.equal(error.exitCode, 124);
    return true;
  });
  // 300 ms and the 1 s grace period, with room for a loaded machine, far from the sleep's 30 s
  assert.ok(Date.now() - start < 8000, "returned within the bound and the grace period");
});

Deno.test("run() kills a command that ignores SIGTERM after the grace period", async () => {
  const argv = ["bash", "-c", "trap '' TERM; sleep 30; echo survived"];
  const answer = await onRealHost({
    call: "run",
    argv,
    hostBound: 200,
    nothrow: true,
    stderr: "capture",
  });
  assert.equal(answer.result?.timedOut, true);
  assert.equal(answer.result?.status, null);
  assert.ok(answer.ms < 8000);
  assert.equal(answer.stderr, `WARN: Command \`${argv.join(" ")}\` timed out after 200 ms\n`);
});

Deno.test("run() returns when a background child keeps the output pipe open", async () => {
  // setsid puts the child out of the command's process group: nothing can kill it for us.
  // The pipe closes when the child ends, 10 s on: well after the bound, the grace period and the
  // room a loaded machine needs.
  const argv = ["bash", "-c", "setsid sleep 10 & echo started"];
  const answer = await onRealHost({
    call: "run",
    argv,
    hostBound: 200,
    nothrow: true,
    stderr: "capture",
  });
  assert.equal(answer.result?.timedOut, true);
  assert.ok(answer.ms < 8000);
  assert.equal(answer.stderr, `WARN: Command \`${argv.join(" ")}\` timed out after 200 ms\n`);
});

Deno.test("run() passes every argument to the program as one word, never to a shell", async () => {
  const host = createHost();
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
  const { stdout } = await host.run(["printf", "%s\\0", ...nasty]);
  assert.deepEqual(stdout.split("\0").slice(0, -1), nasty);
  assert.equal(createHost().kind("/tmp/kind-entrypoint-pwned"), undefined);
});

Deno.test("run() reports the status of a command that exits without reading its input", async () => {
  const host = createHost();
  // more than a pipe buffer, so the write is still going on when the program has exited
  const input = "x".repeat(4 << 20);
  for (let i = 0; i < 5; i++) {
    const result = await host.run(["sh", "-c", "exit 3"], { input, nothrow: true });
    assert.equal(result.status, 3);
  }
  await assert.rejects(host.run(["sh", "-c", "exit 3"], { input }), { exitCode: 3 });
});

Deno.test("commandFailure() says a command timed out even when the bound is not known", () => {
  const result = { argv: ["nft", "list"], status: null, stdout: "", stderr: "", timedOut: true };
  assert.equal(commandFailure(result).message, "Command `nft list` timed out");
  assert.equal(commandFailure(result, 1500).message, "Command `nft list` timed out after 1500 ms");
  assert.equal(commandFailure(result).exitCode, 124);
});

/**
 * Runs `createHost().writeText(file, data, options)` in a child process whose file size limit
 * (RLIMIT_FSIZE, 1024 bytes, SIGXFSZ ignored) cuts the write short after its first kilobyte, the
 * way a SIGKILL can stop a write part way: what is left is what a killed boot leaves.
 */
async function writeCutShort(file: string, data: string, options: object): Promise<void> {
  const host = new URL("../lib/real_host.ts", import.meta.url).href;
  const script = `import { createHost } from ${JSON.stringify(host)};
createHost().writeText(${JSON.stringify(file)}, ${JSON.stringify(data)}, ${
    JSON.stringify(options)
  });`;
  const { code } = await new Deno.Command("bash", {
    args: ["-c", 'ulimit -f 1; trap "" XFSZ; exec "$0" eval "$1"', Deno.execPath(), script],
    stderr: "null",
  }).output();
  assert.notEqual(code, 0, "the write was cut short (EFBIG)");
}

/** Runs `test` with a fresh directory, removed afterwards. */
async function withTempDir(test: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync();
  try {
    await test(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("writeText() in place never leaves the file empty or shorter than the new text when cut short", () =>
  withTempDir(async (dir) => {
    const file = `${dir}/resolv.conf`;
    const old = "nameserver 127.0.0.11\n".repeat(500);
    const written = "nameserver 172.18.0.1\n".repeat(300);
    Deno.writeTextFileSync(file, old);
    await writeCutShort(file, written, {});
    const left = Deno.readTextFileSync(file);
    // Truncating first would leave only the first kilobyte of the new text.
    assert.equal(left.length, old.length);
    assert.equal(left.slice(0, 1024), written.slice(0, 1024));
    assert.equal(left.slice(1024), old.slice(1024));
  }));

Deno.test("writeText() atomic leaves the old file whole when cut short", () =>
  withTempDir(async (dir) => {
    const file = `${dir}/config.toml`;
    const old = 'snapshotter = "overlayfs"\n'.repeat(100);
    Deno.writeTextFileSync(file, old);
    await writeCutShort(file, "x".repeat(5000), { atomic: true });
    assert.equal(Deno.readTextFileSync(file), old);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["config.toml"]);
  }));

Deno.test("writeText() in place keeps the inode and cuts a longer old text to the new length", () =>
  withTempDir((dir) => {
    const file = `${dir}/resolv.conf`;
    Deno.writeTextFileSync(file, "a much longer old text\n");
    Deno.chmodSync(file, 0o640);
    const inode = Deno.statSync(file).ino;
    createHost().writeText(file, "new\n");
    assert.equal(Deno.readTextFileSync(file), "new\n");
    assert.equal(Deno.statSync(file).ino, inode);
    assert.equal(Deno.statSync(file).mode! & 0o777, 0o640);
    createHost().writeText(`${dir}/fresh`, "x", { mode: 0o600 });
    assert.equal(Deno.statSync(`${dir}/fresh`).mode! & 0o777, 0o600);
  }));

Deno.test("writeText() atomic replaces the file by rename and keeps its mode", () =>
  withTempDir((dir) => {
    const file = `${dir}/config.toml`;
    Deno.writeTextFileSync(file, "old\n");
    Deno.chmodSync(file, 0o600);
    const inode = Deno.statSync(file).ino;
    createHost().writeText(file, "new\n", { atomic: true });
    assert.equal(Deno.readTextFileSync(file), "new\n");
    assert.notEqual(Deno.statSync(file).ino, inode);
    assert.equal(Deno.statSync(file).mode! & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["config.toml"]);
  }));

Deno.test("readText() and writeText() name the file and say why in words, like strerror", () =>
  withTempDir((dir) => {
    const host = createHost();
    assert.throws(() => host.readText(`${dir}/missing`), {
      message: `Cannot read ${dir}/missing: no such file or directory`,
    });
    assert.throws(() => host.writeText(`${dir}/missing/file`, "x"), {
      message: `Cannot write ${dir}/missing/file: no such file or directory`,
    });
    assert.throws(() => host.readText(dir), { message: `Cannot read ${dir}: it is a directory` });
  }));

Deno.test("whichSync() finds the first executable file in PATH, like which", () =>
  withTempDir((dir) => {
    for (const sub of ["a", "b", "c"]) Deno.mkdirSync(`${dir}/${sub}`);
    Deno.writeTextFileSync(`${dir}/a/tool`, "#!/bin/sh\n"); // not executable
    Deno.mkdirSync(`${dir}/b/tool`); // a directory
    Deno.writeTextFileSync(`${dir}/c/tool`, "#!/bin/sh\n", { mode: 0o755 });
    Deno.chmodSync(`${dir}/c/tool`, 0o755);
    const searchPath = `${dir}/missing:${dir}/a:${dir}/b:${dir}/c`;
    assert.equal(whichSync("tool", searchPath), `${dir}/c/tool`);
    assert.equal(whichSync("tool", `${dir}/a:${dir}/b`), undefined);
    assert.equal(whichSync(`${dir}/c/tool`, ""), `${dir}/c/tool`, "a path is taken as it is");
    assert.equal(whichSync(`${dir}/a/tool`, searchPath), undefined);
  }));

Deno.test("filesystemName() answers what stat -f -c %T prints for the filesystems it knows", () => {
  assert.equal(filesystemName("/proc"), "proc");
  assert.equal(filesystemName("/sys"), "sysfs");
  assert.equal(filesystemName("/nonexistent-kind-path"), undefined, "statfs fails: run stat");
});
