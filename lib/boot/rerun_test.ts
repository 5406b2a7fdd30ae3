import assert from "node:assert/strict";
import { BOOT_MARKER, detectRerun, markBoot, parseStartTime, PID1_STAT } from "./rerun.ts";
import { FakeHost } from "../host/fake.ts";

const STAT =
  "1 (systemd) S 0 1 1 34816 1 4194560 3285 12345 40 200 12 30 10 20 20 0 1 0 98765 22593536 2890 18446744073709551615";

Deno.test("parseStartTime() reads field 22 of /proc/PID/stat", () => {
  assert.equal(parseStartTime(STAT + "\n"), "98765");
});

Deno.test("parseStartTime() copes with spaces and parentheses in the command name", () => {
  assert.equal(parseStartTime(STAT.replace("(systemd)", "(a) b (c)")), "98765");
  assert.equal(parseStartTime("garbage"), undefined);
});

Deno.test("detectRerun() is a first run without a marker, and a rerun with this boot's marker", () => {
  const host = new FakeHost({ files: { [PID1_STAT]: STAT } });
  assert.deepEqual(detectRerun(host), { boot: "98765", rerun: false });
  markBoot(host, "98765");
  assert.equal(host.files.get(BOOT_MARKER), "98765\n");
  assert.deepEqual(detectRerun(host), { boot: "98765", rerun: true });
});

Deno.test("detectRerun() treats a marker from an earlier boot as a first run", () => {
  const host = new FakeHost({ files: { [PID1_STAT]: STAT, [BOOT_MARKER]: "11111\n" } });
  assert.deepEqual(detectRerun(host), { boot: "98765", rerun: false });
});

Deno.test("detectRerun() treats an unreadable /proc/1/stat as a first run", () => {
  assert.deepEqual(detectRerun(new FakeHost()), { boot: undefined, rerun: false });
});
