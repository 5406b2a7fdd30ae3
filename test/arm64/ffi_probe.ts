/**
 * Drives the port's FFI layer for the arm64 tier (test/arm64/arm64.bats): statfs(2), mount(2)
 * and umount2(2) as the steps call them, and getaddrinfo with getent's flags. Bundled like
 * dist/entrypoint.js and run by Deno's x86_64 build and, under qemu-aarch64, by its arm64 build:
 * the two outputs must be equal, so every struct layout and syscall number the port reads is
 * checked on both architectures against the same kernel.
 *
 * Usage: ffi_probe.js DIR NAME... — DIR: an empty directory on a tmpfs in a private mount
 * namespace (mounts are made and undone under it); NAME: names to look up (from /etc/hosts only:
 * nothing may ask DNS).
 */
import * as fs from "node:fs";
import { filesystemName, loadSyscalls } from "../../lib/host/syscalls.ts";
import { lookupAddress } from "../../lib/host/resolve.ts";
import { type MountOp } from "../../lib/host/host.ts";

const [dir, ...names] = Deno.args;
const syscalls = loadSyscalls();
if (!syscalls) throw new Error("no FFI: run with deno run -A");
const out: string[] = [];

for (const path of ["/proc", "/sys", dir]) {
  const type = syscalls.statfsType(path);
  out.push(`statfs ${path === dir ? "DIR" : path} 0x${type?.toString(16)} ${filesystemName(path)}`);
}

/** The mounts under DIR as the kernel lists them: mount point, fstype, options, propagation. */
function mountsUnder(): string[] {
  return fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n").flatMap((line) => {
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    if (dash < 0 || !fields[4].startsWith(`${dir}/`)) return [];
    const propagation = fields.slice(6, dash).map((p) => p.replace(/:.*/, "")).join(",");
    const point = fields[4].slice(dir.length);
    return [`  ${point} ${fields[dash + 1]} ${fields[5]} ${propagation || "private"}`];
  });
}

for (const sub of ["src", "dst", "ro", "lower", "upper", "work", "merged"]) {
  fs.mkdirSync(`${dir}/${sub}`);
}
fs.writeFileSync(`${dir}/src/file`, "x");
fs.writeFileSync(`${dir}/lower/file`, "lower");
const ops: MountOp[] = [
  { op: "bind", source: `${dir}/src`, target: `${dir}/dst` },
  { op: "bind", source: `${dir}/src`, target: `${dir}/ro`, readOnly: true },
  { op: "propagation", target: `${dir}/dst`, propagation: "rshared" },
  {
    op: "overlay",
    lower: `${dir}/lower`,
    upper: `${dir}/upper`,
    work: `${dir}/work`,
    target: `${dir}/merged`,
  },
  { op: "umount", target: `${dir}/nowhere` },
  // Last: like mount(8)'s, it makes DIR's whole tmpfs (the superblock) read-only.
  { op: "remount-ro", target: `${dir}/dst` },
];
for (const op of ops) {
  const failure = syscalls.mount(op);
  out.push(`mount ${op.op}: ${failure ? `${failure.code} (${failure.text})` : "ok"}`);
  out.push(...mountsUnder());
}
out.push(`overlay shows ${fs.existsSync(`${dir}/merged/file`) ? "the lower file" : "nothing"}`);
for (const target of ["merged", "ro", "dst"]) {
  const failure = syscalls.mount({ op: "umount", target: `${dir}/${target}` });
  out.push(`umount ${target}: ${failure ? failure.code : "ok"}`);
}
out.push(...mountsUnder());

for (const name of names) {
  for (const family of [4, 6] as const) {
    out.push(`getent ahostsv${family} ${name}: ${await lookupAddress(name, family, 5000) ?? ""}`);
  }
}
console.log(out.join("\n"));
