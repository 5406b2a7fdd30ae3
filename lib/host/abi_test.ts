import assert from "node:assert/strict";
import { abiFor, runningAbi } from "./abi.ts";

Deno.test("abiFor() numbers rt_sigaction by the architecture's own syscall table", () => {
  assert.equal(abiFor("x86_64")?.rtSigaction.number, 13n);
  assert.equal(abiFor("aarch64")?.rtSigaction.number, 134n);
});

Deno.test("abiFor() lays out statfs and addrinfo as LP64 glibc does on both architectures", () => {
  for (const arch of ["x86_64", "aarch64"]) {
    const abi = abiFor(arch)!;
    assert.deepEqual(abi.statfs, { bytes: 120, typeOffset: 0 }, arch);
    assert.deepEqual(
      abi.addrinfo,
      { bytes: 48, flagsOffset: 0, familyOffset: 4, addrOffset: 24 },
      arch,
    );
  }
});

Deno.test("abiFor() knows no layout for an architecture it was not given, rather than guess", () => {
  for (const arch of ["riscv64", "s390x", "toString", ""]) assert.equal(abiFor(arch), undefined);
});

Deno.test("runningAbi() is the layout of the architecture the tests run on", () => {
  assert.equal(runningAbi(), abiFor(Deno.build.arch));
  assert.notEqual(runningAbi(), undefined);
});
