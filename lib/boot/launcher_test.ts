import assert from "node:assert/strict";
import { CACHE_MOUNT_ENV, releaseCacheMount } from "./launcher.ts";
import { readSwitches } from "./switches.ts";
import { STEPS } from "./steps.ts";
import { buildBundle, DENO, REPO, testEnvironment } from "../../test/support/bundle.ts";

Deno.test("releaseCacheMount() does nothing when the launcher mounted nothing", () => {
  assert.equal(releaseCacheMount(undefined), undefined);
  assert.equal(releaseCacheMount(""), undefined);
});

Deno.test("releaseCacheMount() calls umount2 on the named directory and says why it failed", () => {
  const missing = "/nonexistent/kind-entrypoint-ts-launcher-test";
  const message = releaseCacheMount(missing);
  assert.match(
    message ?? "",
    /^umount2\("\/nonexistent\/kind-entrypoint-ts-launcher-test", MNT_DETACH\) failed: .* \((ENOENT|EPERM)\)$/,
  );
});

Deno.test("readSwitches() takes the launcher's cache mount as an absolute path only", () => {
  assert.deepEqual(readSwitches({ [CACHE_MOUNT_ENV]: "/usr/local/lib/x" }, STEPS), {
    [CACHE_MOUNT_ENV]: "/usr/local/lib/x",
  });
  assert.throws(
    () => readSwitches({ [CACHE_MOUNT_ENV]: "relative" }, STEPS),
    /not an absolute path/,
  );
});

/** How the image's launcher (images/entrypoint) started Deno: its arguments and environment. */
interface Launch {
  args: string[];
  env: Record<string, string>;
}

/**
 * Runs images/entrypoint with its two image paths moved into a scratch directory, where `deno`
 * is a stub that prints what it was started with, and `mount` a stub that succeeds or fails.
 */
function launch(options: { mount: "works" | "fails"; env: Record<string, string> }): Launch {
  const dir = Deno.makeTempDirSync();
  try {
    const lib = `${dir}/lib`;
    Deno.mkdirSync(`${dir}/bin`);
    Deno.mkdirSync(`${lib}/deno-dir`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/bin/deno`, '#!/bin/sh\nprintf "%s\\n" "$@"; echo ---; env\n');
    Deno.writeTextFileSync(
      `${dir}/bin/mount`,
      `#!/bin/sh\nexit ${options.mount === "works" ? 0 : 1}\n`,
    );
    for (const stub of ["deno", "mount"]) Deno.chmodSync(`${dir}/bin/${stub}`, 0o755);
    const launcher = Deno.readTextFileSync(new URL("../../images/entrypoint", import.meta.url))
      .replaceAll("/usr/local/bin/deno", `${dir}/bin/deno`)
      .replaceAll("/usr/local/lib/kind-entrypoint-ts", lib);
    Deno.writeTextFileSync(`${dir}/entrypoint`, launcher);
    const out = new Deno.Command("/bin/sh", {
      args: [`${dir}/entrypoint`, "/sbin/init"],
      clearEnv: true,
      env: { PATH: `${dir}/bin:/usr/bin:/bin`, ...options.env },
    }).outputSync();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const [args, env] = new TextDecoder().decode(out.stdout).split("---\n");
    return {
      args: args.trim().split("\n").map((arg) => arg.replace(dir, "DIR")),
      env: Object.fromEntries(
        env.trim().split("\n").map((line) => {
          const [name, ...value] = line.split("=");
          return [name, value.join("=").replace(dir, "DIR")];
        }),
      ),
    };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("the launcher names its own read-only mount, and never a mount it was given", () => {
  const given = { [CACHE_MOUNT_ENV]: "/sys/fs/cgroup" };
  const mounted = launch({ mount: "works", env: given });
  assert.equal(mounted.env[CACHE_MOUNT_ENV], "DIR/lib/deno-dir");
  assert.equal(mounted.env.DENO_DIR, "DIR/lib/deno-dir");
  assert.deepEqual(mounted.args.slice(-2), ["DIR/lib/entrypoint.js", "/sbin/init"]);
  // Its mount refused (a user namespace), or skipped: the given value must not reach the port.
  assert.equal(launch({ mount: "fails", env: given }).env[CACHE_MOUNT_ENV], undefined);
  const warm = launch({ mount: "works", env: { ...given, KIND_ENTRYPOINT_WARM_CACHE: "1" } });
  assert.equal(warm.env[CACHE_MOUNT_ENV], undefined);
  assert.equal(warm.env.KIND_ENTRYPOINT_WARM_CACHE, undefined);
});

Deno.test("the launcher makes no mount for a dry run, and Deno then keeps no cache", () => {
  const dry = launch({
    mount: "works",
    env: { KIND_ENTRYPOINT_DRY_RUN: "1", [CACHE_MOUNT_ENV]: "/sys/fs/cgroup" },
  });
  assert.equal(dry.env[CACHE_MOUNT_ENV], undefined);
  assert.equal(dry.env.DENO_DIR, "/proc/kind-entrypoint-ts-no-cache");
});

/** `unshare -m` works here (root): the bundle can be given a mount of its own to detach. */
const CAN_UNSHARE_MOUNT = (() => {
  try {
    return new Deno.Command("unshare", { args: ["-m", "true"], stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
})();

/**
 * Runs the bundle in a mount namespace of its own, with a tmpfs named as the launcher's cache
 * mount, and says whether that tmpfs is still mounted afterwards (and how the run ended).
 */
function cacheMountAfterRun(env: Record<string, string>): { mounted: boolean; status: number } {
  buildBundle();
  const dir = Deno.makeTempDirSync();
  try {
    const script = 'mount -t tmpfs kets-cache "$1" || exit 99; shift; "$@" >/dev/null 2>&1; ' +
      'status=$?; grep -q " kets-cache " /proc/self/mountinfo && echo mounted; exit $status';
    const out = new Deno.Command("unshare", {
      args: [
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        "sh",
        dir,
        DENO,
        "run",
        "-A",
        `${REPO}/dist/entrypoint.js`,
      ],
      clearEnv: true,
      env: testEnvironment({ [CACHE_MOUNT_ENV]: dir, ...env }),
    }).outputSync();
    assert.notEqual(out.code, 99, "tmpfs mounted for the test");
    return { mounted: new TextDecoder().decode(out.stdout) === "mounted\n", status: out.code };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test({
  name:
    "the entrypoint detaches the launcher's mount only in a real run, after its switches are checked",
  ignore: !CAN_UNSHARE_MOUNT,
  fn() {
    assert.deepEqual(cacheMountAfterRun({}), { mounted: false, status: 0 });
    assert.deepEqual(cacheMountAfterRun({ KIND_ENTRYPOINT_DRY_RUN: "1" }), {
      mounted: true,
      status: 0,
    });
    const misspelt = cacheMountAfterRun({ KIND_ENTRYPOINT_TRACE: "yes" });
    assert.equal(misspelt.mounted, true, "an invalid switch stops the run before anything");
    assert.notEqual(misspelt.status, 0);
  },
});
