import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { EntrypointError } from "../errors.ts";
import {
  detectUserns,
  missingController,
  nofileWarning,
  UID_MAP,
  validateUserns,
} from "./userns.ts";
import { FakeHost } from "../host/fake.ts";

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/testdata/proc/${name}`, import.meta.url), "utf8");

const LIMITS = "/proc/self/limits";
const CONTROLLERS = "/sys/fs/cgroup/cgroup.controllers";

Deno.test("detectUserns() logs kind's line in a user namespace", () => {
  const host = new FakeHost({ files: { [UID_MAP]: fixture("uid_map.rootless") } });
  assert.equal(detectUserns(host), true);
  assert.deepEqual(host.events, [
    { type: "log", level: "INFO", message: "running in a user namespace (experimental)" },
  ]);
});

Deno.test("detectUserns() is silent in the initial namespace and when uid_map is unreadable", () => {
  const cases: Record<string, string>[] = [{ [UID_MAP]: fixture("uid_map.host") }, {}];
  for (const files of cases) {
    const host = new FakeHost({ files });
    assert.equal(detectUserns(host), false);
    assert.deepEqual(host.events, []);
  }
});

Deno.test("nofileWarning() warns below 64000 open files only", () => {
  const cases: [number | "unlimited" | undefined, string | undefined][] = [
    [1048576, undefined],
    [64000, undefined],
    ["unlimited", undefined],
    [63999, "UserNS: expected RLIMIT_NOFILE to be at least 64000, got 63999"],
    [1024, "UserNS: expected RLIMIT_NOFILE to be at least 64000, got 1024"],
    [undefined, "UserNS: expected RLIMIT_NOFILE to be at least 64000, got "],
  ];
  for (const [limit, warning] of cases) assert.equal(nofileWarning(limit), warning, `${limit}`);
});

Deno.test("missingController() names the first of cpu, memory, pids that is not delegated", () => {
  const cases: [string, string | undefined][] = [
    ["controllers.delegated", undefined],
    ["controllers.no-cpu", "cpu"],
    ["controllers.cpu-only", "memory"],
  ];
  for (const [name, missing] of cases) assert.equal(missingController(fixture(name)), missing);
  assert.equal(missingController("cpuset cpu io memory hugetlb rdma misc\n"), "pids");
});

Deno.test("validateUserns() does nothing outside a user namespace", () => {
  const host = new FakeHost({ files: { [LIMITS]: fixture("limits.low") } });
  validateUserns(host, { userns: false });
  assert.deepEqual(host.events, []);
});

Deno.test("validateUserns() warns on a low open-files limit and accepts delegated controllers", () => {
  const host = new FakeHost({
    files: { [LIMITS]: fixture("limits.low"), [CONTROLLERS]: fixture("controllers.delegated") },
  });
  validateUserns(host, { userns: true });
  assert.deepEqual(host.logs, [
    "WARN: UserNS: expected RLIMIT_NOFILE to be at least 64000, got 1024",
  ]);
});

Deno.test("validateUserns() skips the controller check on cgroup v1", () => {
  const host = new FakeHost({ files: { [LIMITS]: fixture("limits.docker") } });
  validateUserns(host, { userns: true });
  assert.deepEqual(host.events, []);
});

Deno.test("validateUserns() stops with status 1 and kind's error line when cpu is not delegated", () => {
  const host = new FakeHost({
    files: { [LIMITS]: fixture("limits.docker"), [CONTROLLERS]: fixture("controllers.no-cpu") },
  });
  assert.throws(() => validateUserns(host, { userns: true }), (error: unknown) => {
    assert.ok(error instanceof EntrypointError);
    assert.equal(error.message, "UserNS: cpu controller needs to be delegated");
    assert.equal(error.exitCode, 1);
    assert.equal(error.verbatim, true);
    return true;
  });
  assert.deepEqual(host.events, []);
});
