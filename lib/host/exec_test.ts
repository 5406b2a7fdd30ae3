import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  candidatePaths,
  environmentStrings,
  initialEnvironment,
  searchOutcome,
  signalsToReset,
  triesNextAfter,
  variable,
} from "./exec.ts";
import { EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND } from "../exit_status.ts";
import { buildBundle, DENO, REPO, testEnvironment } from "../../test/support/bundle.ts";

const BUNDLE = join(REPO, "dist/entrypoint.js");
const SOURCES = join(REPO, "entrypoint.ts");

Deno.test("candidatePaths() uses a path with a slash as it is and searches PATH otherwise", () => {
  assert.deepEqual(candidatePaths("/sbin/init", "/usr/bin"), ["/sbin/init"]);
  assert.deepEqual(candidatePaths("./init", "/usr/bin"), ["./init"]);
  assert.deepEqual(candidatePaths("init", "/usr/sbin:/sbin"), ["/usr/sbin/init", "/sbin/init"]);
  assert.deepEqual(candidatePaths("init", ":/sbin"), ["init", "/sbin/init"]);
  assert.deepEqual(candidatePaths("init", undefined), ["/bin/init", "/usr/bin/init"]);
});

Deno.test("searchOutcome() reports like execvp and exits like bash", () => {
  const cases: [string[], string, number][] = [
    [["ENOENT"], "ENOENT", EXIT_NOT_FOUND],
    [["ENOENT", "ENOENT"], "ENOENT", EXIT_NOT_FOUND],
    [["EACCES", "ENOENT"], "EACCES", EXIT_CANNOT_EXECUTE],
    [["ENOENT", "ENOTDIR"], "ENOTDIR", EXIT_CANNOT_EXECUTE],
    [["ENOEXEC"], "ENOEXEC", EXIT_CANNOT_EXECUTE],
    [[], "ENOENT", EXIT_NOT_FOUND],
  ];
  for (const [failures, errno, exitCode] of cases) {
    assert.deepEqual(searchOutcome(failures), { errno, exitCode }, failures.join(","));
  }
});

Deno.test("triesNextAfter() goes on after a missing or unusable entry only", () => {
  for (const errno of ["ENOENT", "ENOTDIR", "EACCES", "ESTALE"]) assert.ok(triesNextAfter(errno));
  for (const errno of ["E2BIG", "ENOMEM", "ETXTBSY", "ELOOP"]) assert.ok(!triesNextAfter(errno));
});

Deno.test("signalsToReset() covers every signal but SIGKILL and SIGSTOP", () => {
  const signals = signalsToReset();
  assert.equal(signals.length, 62);
  for (const excluded of [9, 19]) assert.ok(!signals.includes(excluded));
  assert.ok(signals.includes(32) && signals.includes(33), "glibc's, which Deno's children ignore");
  assert.ok(signals.includes(13), "SIGPIPE, which Deno ignores");
  assert.ok(signals.includes(37), "SIGRTMIN+3, systemd's stop signal");
});

Deno.test("environmentStrings() keeps empty values and skips unset ones", () => {
  assert.deepEqual(environmentStrings({ A: "1", B: "", C: undefined, D: "x=y" }), [
    "A=1",
    "B=",
    "D=x=y",
  ]);
});

Deno.test("environmentStrings() leaves out the variables the image's launcher set for Deno", () => {
  assert.deepEqual(
    environmentStrings({
      KIND_ENTRYPOINT_LAUNCHER_ENV: "DENO_DIR DENO_NO_UPDATE_CHECK",
      DENO_DIR: "/usr/local/lib/kind-entrypoint-ts/deno-dir",
      DENO_NO_UPDATE_CHECK: "1",
      container: "docker",
    }),
    ["container=docker"],
  );
});

Deno.test("initialEnvironment() passes the entries on byte for byte, without the launcher's", () => {
  const block = new Uint8Array([
    ...new TextEncoder().encode(
      "container=docker\0KIND_ENTRYPOINT_LAUNCHER_ENV=DENO_DIR X\0DENO_DIR=/d\0EMPTY=\0\0",
    ),
    ...[0x4c, 0x41, 0x54, 0x49, 0x4e, 0x3d, 0xe9, 0xff, 0], // LATIN=\xe9\xff: not UTF-8
    ...new TextEncoder().encode("PATH=/usr/bin:/bin"), // the last entry may lack its NUL
  ]);
  const entries = initialEnvironment(block);
  const text = (entry: Uint8Array) => String.fromCharCode(...entry);
  assert.deepEqual(entries.map(text), [
    "container=docker",
    "EMPTY=",
    "LATIN=\xe9\xff",
    "PATH=/usr/bin:/bin",
  ]);
  assert.equal(variable(entries, "PATH"), "/usr/bin:/bin");
  assert.equal(variable(entries, "PAT"), undefined);
  assert.equal(variable(entries, "EMPTY"), "");
});

// The real exec: the bundle (and the sources) replace themselves with a command. The steps are
// deselected (KIND_ENTRYPOINT_STEPS=none), so nothing on this machine is changed.

function succeeds(argv: string[]): boolean {
  try {
    return spawnSync(argv[0], argv.slice(1), { stdio: "ignore" }).status === 0;
  } catch {
    return false;
  }
}

const CAN_UNSHARE = succeeds(["unshare", "--pid", "--fork", "--mount-proc", "true"]);
const CAN_UNSHARE_USER = succeeds([
  "unshare",
  "--user",
  "--map-root-user",
  "--pid",
  "--fork",
  "--mount-proc",
  "true",
]);
const HAS_NODE = succeeds(["node", "--version"]);
if (!CAN_UNSHARE) {
  console.log("exec tests in a pid namespace are skipped: `unshare --pid` needs root here");
}

const scratch = mkdtempSync(join(tmpdir(), "kind-exec-test-"));
globalThis.addEventListener("unload", () => rmSync(scratch, { recursive: true, force: true }));

/** A script that prints its arguments and one variable, then becomes `cat /proc/self/status`. */
const REPORTER = join(scratch, "reporter");
writeFileSync(
  REPORTER,
  '#!/bin/sh\necho "args: $*"\necho "mark: ${KIND_EXEC_TEST_MARK-unset}"\n' +
    "exec cat /proc/self/status\n",
);
chmodSync(REPORTER, 0o755);
const NOT_EXECUTABLE = join(scratch, "not-executable");
writeFileSync(NOT_EXECUTABLE, "#!/bin/sh\nexit 0\n");
chmodSync(NOT_EXECUTABLE, 0o644);

/** How a run of the entrypoint ended. */
interface Outcome {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `program` (the bundle or the sources) with exactly `testEnvironment(options.env)`: Deno's
 * node:child_process would add this test process's own variables to any `env` it is given.
 */
function entrypoint(
  program: string,
  argv: string[],
  options: { wrap?: string[]; env?: Record<string, string>; runtime?: string[] } = {},
): Outcome {
  const runtime = options.runtime ?? [DENO, "run", "-A"];
  const command = [...(options.wrap ?? []), ...runtime, program, ...argv];
  const result = new Deno.Command(command[0], {
    args: command.slice(1),
    clearEnv: true,
    env: testEnvironment(options.env),
  }).outputSync();
  const decoder = new TextDecoder();
  return {
    status: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
}

/** The `Name:\tvalue` fields of /proc/PID/status. */
function statusFields(text: string): Record<string, string> {
  return Object.fromEntries(
    text.split("\n").flatMap((line) => {
      const match = /^(\w+):\s+(.*)$/.exec(line);
      return match ? [[match[1], match[2]]] : [];
    }),
  );
}

const PID_NAMESPACE = ["unshare", "--pid", "--fork", "--mount-proc"];

for (const [what, program] of [["the bundle", BUNDLE], ["the sources", SOURCES]] as const) {
  Deno.test({
    name: `${what} execs the command as PID 1 with no blocked or ignored signals`,
    ignore: !CAN_UNSHARE,
    fn() {
      if (program === BUNDLE) buildBundle();
      const result = entrypoint(program, [REPORTER, "--one", "two words"], {
        wrap: PID_NAMESPACE,
        env: { KIND_EXEC_TEST_MARK: "kept" },
      });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr, "INFO: starting init\n");
      const [args, mark, ...status] = result.stdout.split("\n");
      assert.equal(args, "args: --one two words");
      assert.equal(mark, "mark: kept");
      const fields = statusFields(status.join("\n"));
      assert.equal(fields.Pid, "1");
      assert.equal(fields.SigBlk, "0000000000000000");
      assert.equal(fields.SigIgn, "0000000000000000");
    },
  });
}

Deno.test({
  name:
    "the bundle started by plain deno run hands init exactly the environment it was started with",
  ignore: !CAN_UNSHARE,
  fn() {
    buildBundle();
    // No `node` on PATH: Deno then adds DENO_NODE_SHIM_ACTIVE=1 and its node_compat_bin
    // directory to PATH for its own children; none of that is kind's environment.
    const bin = join(scratch, "bin-without-node");
    mkdirSync(bin, { recursive: true });
    symlinkSync("/usr/bin/env", join(bin, "env"));
    const env = { PATH: bin, container: "docker", SPACED: "a b\tc=d" };
    const result = entrypoint(BUNDLE, ["env", "-0"], {
      wrap: ["/usr/bin/unshare", ...PID_NAMESPACE.slice(1)],
      env,
    });
    assert.equal(result.status, 0, result.stderr);
    const expected = Object.entries(testEnvironment(env)).map(([name, value]) =>
      `${name}=${value}`
    );
    assert.deepEqual(result.stdout.split("\0").slice(0, -1).sort(), expected.sort());
  },
});

Deno.test({
  name: "the bundle in a user namespace says so first, then execs",
  ignore: !CAN_UNSHARE_USER,
  fn() {
    buildBundle();
    const result = entrypoint(BUNDLE, [REPORTER], {
      wrap: ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc"],
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(
      result.stderr,
      "INFO: running in a user namespace (experimental)\nINFO: starting init\n",
    );
    assert.equal(statusFields(result.stdout).Pid, "1");
  },
});

Deno.test("the bundle exits 127 with a clear message when the command does not exist", () => {
  buildBundle();
  const result = entrypoint(BUNDLE, [join(scratch, "missing-init")]);
  assert.equal(result.status, 127);
  assert.equal(
    result.stderr,
    "INFO: starting init\n" +
      `ERROR: Cannot exec ${join(scratch, "missing-init")}: No such file or directory\n`,
  );
});

Deno.test("the bundle exits 127 when no PATH entry has the command", () => {
  buildBundle();
  const result = entrypoint(BUNDLE, ["kind-no-such-init"], { env: { PATH: scratch } });
  assert.equal(result.status, 127);
  assert.match(
    result.stderr,
    /ERROR: Cannot exec kind-no-such-init: No such file or directory \(searched PATH\)\n$/,
  );
});

Deno.test("the bundle exits 126 when the command is not executable", () => {
  buildBundle();
  const result = entrypoint(BUNDLE, [NOT_EXECUTABLE]);
  assert.equal(result.status, 126);
  assert.match(result.stderr, /ERROR: Cannot exec .*not-executable: Permission denied\n$/);
});

Deno.test("the bundle finds a command through PATH, skipping entries without it", () => {
  buildBundle();
  const result = entrypoint(BUNDLE, ["reporter", "x"], {
    env: { PATH: `/nonexistent:${join(scratch, "not-executable")}:${scratch}:/usr/bin:/bin` },
  });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^args: x\n/);
});

Deno.test("the bundle runs a file without #! through /bin/sh, as bash and execvp do", () => {
  buildBundle();
  const script = join(scratch, "no-shebang");
  writeFileSync(script, 'echo "plain script: $1"\n');
  chmodSync(script, 0o755);
  const result = entrypoint(BUNDLE, [script, "ok"]);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, "plain script: ok\n");
});

Deno.test("the bundle without a command logs starting init and exits 0, like bash's bare exec", () => {
  buildBundle();
  const result = entrypoint(BUNDLE, []);
  assert.equal(result.status, 0);
  assert.equal(result.stderr, "INFO: starting init\n");
});

Deno.test({
  name: "the bundle under Node.js refuses to start, before any step, and says how to run it",
  ignore: !HAS_NODE,
  fn() {
    buildBundle();
    const result = entrypoint(BUNDLE, ["/sbin/init"], { runtime: ["node"] });
    assert.equal(result.status, 126);
    assert.match(
      result.stderr,
      /^ERROR: Cannot exec: this runtime \(Node\.js v[\d.]+\) cannot replace its process; run the entrypoint with deno run -A\n$/,
    );
  },
});

Deno.test("execCommand() disarms a pending alarm, so init never gets the entrypoint's SIGALRM", async () => {
  // An alarm survives execve(2): one armed by a late SIGRTMIN+3 (lib/boot/signals.ts) would kill
  // init with SIGALRM a few seconds into its life, when nothing of the entrypoint is left.
  const exec = new URL("./exec.ts", import.meta.url).href;
  const ffi = new URL("./ffi.ts", import.meta.url).href;
  const script = `import { execCommand } from ${JSON.stringify(exec)};
import { loadLibc } from ${JSON.stringify(ffi)};
loadLibc().alarm(1);
await execCommand(["sh", "-c", "sleep 1.5; echo survived"]);`;
  const result = await new Deno.Command(DENO, {
    args: ["eval", script],
    clearEnv: true,
    env: testEnvironment(),
  }).output();
  assert.equal(new TextDecoder().decode(result.stdout), "survived\n");
  assert.equal(result.signal, null);
});
