import assert from "node:assert/strict";
import { commandFailure } from "./host.ts";
import { createHost, paddedText, whichSync } from "./real.ts";
import { filesystemName } from "./syscalls.ts";
import { onRealHost } from "../../test/support/real_host_program.ts";

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
  const host = new URL("./real.ts", import.meta.url).href;
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

/**
 * A memfd sealed against shrinking, open as `/proc/self/fd/N`: writes succeed and ftruncate(2)
 * to a smaller size fails, so a rewrite stops exactly where a SIGKILL between its write and its
 * truncation would stop it.
 */
function unshrinkableFile(text: string): { path: string; [Symbol.dispose](): void } {
  const libc = Deno.dlopen("libc.so.6", {
    memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
    fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
  });
  const MFD_ALLOW_SEALING = 2;
  const F_ADD_SEALS = 1033;
  const F_SEAL_SHRINK = 2;
  const fd = libc.symbols.memfd_create(
    new TextEncoder().encode("resolv.conf\0"),
    MFD_ALLOW_SEALING,
  );
  assert.ok(fd >= 0, "memfd_create");
  const path = `/proc/self/fd/${fd}`;
  Deno.writeTextFileSync(path, text);
  assert.equal(libc.symbols.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0, "F_SEAL_SHRINK");
  return {
    path,
    [Symbol.dispose]() {
      libc.symbols.close(fd);
      libc.close();
    },
  };
}

Deno.test("writeText() in place leaves a shorter new text readable as itself when stopped before the truncation", () => {
  const old = "nameserver 127.0.0.11\noptions ndots:0\n" +
    "search a.example b.example c.example\n".repeat(40);
  const written = "nameserver 172.30.0.1\noptions ndots:0\n";
  using file = unshrinkableFile(old);
  assert.throws(() => createHost().writeText(file.path, written), {
    message: `Cannot write ${file.path}: operation not permitted`,
  });
  const left = Deno.readTextFileSync(file.path);
  assert.equal(left.length, old.length, "the truncation did not happen");
  // Written bare, the new text would be followed by the old text's tail: its search lines.
  assert.equal(left.slice(0, written.length), written);
  assert.match(left.slice(written.length), /^\n*$/, "only blank lines follow the new text");
});

Deno.test("paddedText() pads with newlines up to the old length and leaves a longer text alone", () => {
  const text = new TextEncoder().encode("a\n");
  assert.equal(new TextDecoder().decode(paddedText(text, 5)), "a\n\n\n\n");
  assert.equal(paddedText(text, 2), text);
  assert.equal(paddedText(text, 0), text);
});

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

Deno.test("writeText() durable syncs the file and then its directory, as systemd-machine-id-setup does", () =>
  withTempDir(async (dir) => {
    const file = `${dir}/machine-id`;
    const host = new URL("./real.ts", import.meta.url).href;
    const script = `import { createHost } from ${JSON.stringify(host)};
createHost().writeText(${JSON.stringify(file)}, "0123\\n", { mode: 0o444, durable: true });`;
    // strace -y names each descriptor's path: the calls are told apart by what they sync.
    const { code, stderr } = await new Deno.Command("strace", {
      args: ["-f", "-qq", "-y", "-e", "trace=fsync,fdatasync", Deno.execPath(), "eval", script],
      stdout: "null",
    }).output();
    assert.equal(code, 0);
    const syncs = new TextDecoder().decode(stderr).split("\n")
      .map((line) => /f(?:data)?sync\(\d+<([^>]*)>\)/.exec(line)?.[1])
      .filter((path) => path !== undefined);
    assert.deepEqual(syncs, [file, dir]);
    assert.equal(Deno.readTextFileSync(file), "0123\n");
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

Deno.test("writeText() atomic replaces the temporary a killed write left beside the file", () =>
  withTempDir((dir) => {
    const file = `${dir}/resolv.conf.original`;
    // What a SIGKILL between the temporary's write and its rename leaves.
    Deno.writeTextFileSync(`${dir}/.resolv.conf.original.kind-entrypoint.tmp`, "half a text");
    createHost().writeText(file, "nameserver 127.0.0.11\n", { atomic: true });
    assert.equal(Deno.readTextFileSync(file), "nameserver 127.0.0.11\n");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["resolv.conf.original"]);
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
