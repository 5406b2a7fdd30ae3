import assert from "node:assert/strict";
import { bindOnFirstUse, cString, LIBC_GROUPS, LIBC_SYMBOLS, loadLibc } from "./ffi.ts";

Deno.test("bindOnFirstUse() binds a group at the first read of any of its names, once, and never a group not read", () => {
  const bound: string[][] = [];
  const symbols = bindOnFirstUse([["mount", "umount2"], ["execve"], ["strerror"]], (names) => {
    bound.push([...names]);
    return Object.fromEntries(names.map((name) => [name, () => name])) as Record<
      (typeof names)[number],
      () => string
    >;
  });
  assert.deepEqual(bound, []);
  const umount2 = symbols.umount2;
  assert.equal(symbols.umount2, umount2);
  assert.equal(symbols.mount(), "mount");
  assert.equal(symbols.execve(), "execve");
  assert.deepEqual(bound, [["mount", "umount2"], ["execve"]]);
  assert.deepEqual(Object.keys(symbols), ["mount", "umount2", "execve", "strerror"]);
});

Deno.test("LIBC_GROUPS binds every libc function the entrypoint declares, each once", () => {
  const names = LIBC_GROUPS.flat();
  assert.equal(new Set(names).size, names.length);
  assert.deepEqual(new Set(names), new Set(Object.keys(LIBC_SYMBOLS)));
  const libc = loadLibc()!;
  assert.deepEqual(new Set(Object.keys(libc)), new Set(names));
  assert.equal(typeof libc.syscall, "function");
});

Deno.test("loadLibc() gives glibc's functions, the same ones at every call", () => {
  const libc = loadLibc();
  assert.ok(libc, "this test runs under Deno with FFI on Linux");
  const F_OK = 0;
  assert.equal(libc.access(cString("/"), F_OK), 0);
  assert.equal(libc.access(cString("/no/such/path"), F_OK), -1);
  assert.equal(loadLibc(), libc);
  assert.equal(libc.access, loadLibc()!.access);
});
