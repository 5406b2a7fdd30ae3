import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  builderBannerFilter,
  customName,
  defaultTag,
  dockerfileCopies,
  dockerfileDefaults,
  packageRoot,
  parseCommandLine,
  standinWarning,
} from "../scripts/build-image.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const SCRIPT = join(REPO, "scripts/build-image.ts");
const DOCKERFILE = readFileSync(join(REPO, "images/Dockerfile"), "utf8");

/** Runs the command as `npm run image` does, with `env` over a PATH holding bash and deno. */
function command(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(Deno.execPath(), ["run", "-A", SCRIPT, ...args], {
    encoding: "utf8",
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/root", ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Runs `build-image ARGS` as the package's bin does (`main(args)`, nothing else) in `cwd`, with
 * `env` over a PATH whose `docker` only records what `docker build` was asked and then fails it.
 * Returns the command's result and the build's argv (empty when docker build was not reached).
 */
function binWithRecordingDocker(
  args: string[],
  { cwd, env, script }: { cwd: string; env: Record<string, string>; script?: string },
) {
  const bin = mkdtempSync(join(tmpdir(), "build-image-docker-"));
  const log = join(bin, "build.argv");
  writeFileSync(
    join(bin, "docker"),
    `#!/bin/bash\n[[ $1 == build ]] || exit 0\nprintf '%s\\n' "$@" >${log}\nexit 1\n`,
    { mode: 0o755 },
  );
  const driver = script === undefined
    ? [
      ...["eval", "--config", join(REPO, "deno.json")],
      `import { main } from "${SCRIPT}"; process.exitCode = await main(Deno.args);`,
    ]
    : ["run", "-A", script];
  const result = spawnSync(Deno.execPath(), [...driver, ...args], {
    cwd,
    encoding: "utf8",
    env: {
      HOME: Deno.env.get("HOME") ?? "/root",
      ...env,
      PATH: `${bin}:${Deno.env.get("PATH") ?? ""}`,
    },
  });
  let argv: string[] = [];
  try {
    argv = readFileSync(log, "utf8").trimEnd().split("\n");
  } catch { /* docker build was not reached */ }
  rmSync(bin, { recursive: true, force: true });
  return { status: result.status, stderr: result.stderr, argv };
}

/** The value after `flag` in `argv`, for each time it occurs. */
function flagValues(argv: string[], flag: string): string[] {
  return argv.flatMap((word, i) => i > 0 && argv[i - 1] === flag ? [word] : []);
}

/** A scratch directory with `files` in it, removed after `body`. */
async function withFiles(
  files: Record<string, string>,
  body: (dir: string) => Promise<void> | void,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "build-image-test-"));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

Deno.test("parseCommandLine() takes the options, with the subcommand's name or without it", () => {
  const env = {};
  const expected = {
    entry: "/work/x/entrypoint.ts",
    tag: "my/node:1",
    base: "kindest/node:v1.36.1",
    denoImage: "my/deno:1",
  };
  const args = [
    ...["--entry", "./entrypoint.ts", "--tag", "my/node:1"],
    ...["--base", "kindest/node:v1.36.1", "--deno-image", "my/deno:1"],
  ];
  assert.deepEqual(parseCommandLine(args, { cwd: "/work/x", env }), expected);
  assert.deepEqual(parseCommandLine(["build-image", ...args], { cwd: "/work/x", env }), expected);
  assert.equal(parseCommandLine(["--help"], { cwd: "/", env }), "help");
  assert.equal(parseCommandLine(["build-image", "-h"], { cwd: "/", env }), "help");
});

Deno.test("parseCommandLine() fills options not given from ENTRY, IMAGE, BASE_IMAGE and DENO_IMAGE", () => {
  const env = { ENTRY: "e.ts", IMAGE: "t:1", BASE_IMAGE: "b:1", DENO_IMAGE: "d:1" };
  assert.deepEqual(parseCommandLine([], { cwd: "/w", env }), {
    entry: "/w/e.ts",
    tag: "t:1",
    base: "b:1",
    denoImage: "d:1",
  });
  assert.deepEqual(parseCommandLine(["--tag", "x:2"], { cwd: "/w", env: { IMAGE: "" } }), {
    entry: undefined,
    tag: "x:2",
    base: undefined,
    denoImage: undefined,
  });
});

Deno.test("parseCommandLine() refuses an unknown option and a stray argument, pointing at --help", () => {
  assert.throws(
    () => parseCommandLine(["--entyr", "x"], { cwd: "/", env: {} }),
    /Unknown option '--entyr' \(see --help\)/,
  );
  assert.throws(() => parseCommandLine(["x.ts"], { cwd: "/", env: {} }), /\(see --help\)$/);
});

Deno.test("customName() names an image after the entry's file, or its directory for entrypoint.ts", () => {
  assert.equal(customName("/r/examples/registry-mirror/entrypoint.ts"), "registry-mirror");
  assert.equal(customName("/r/My Entrypoint.ts"), "my-entrypoint");
  assert.equal(customName("/r/main.ts"), "r");
  assert.equal(customName("/__.ts"), "entry");
});

Deno.test("defaultTag() never gives a custom or a stand-in image the default image's tag", () => {
  assert.equal(defaultTag(undefined, false), "kind-entrypoint-ts/node:latest");
  assert.equal(defaultTag(undefined, true), "kind-entrypoint-ts/standin-not-for-kind:latest");
  assert.equal(defaultTag("/p/x/entrypoint.ts", false), "kind-entrypoint-ts/custom-x:latest");
  assert.equal(
    defaultTag("/p/x/entrypoint.ts", true),
    "kind-entrypoint-ts/custom-x-standin-not-for-kind:latest",
  );
});

Deno.test("dockerfileDefaults() reads the Dockerfile's default base and Deno images", () => {
  const { base, denoImage } = dockerfileDefaults(DOCKERFILE);
  assert.match(base, /^kindest\/node:v[0-9.]+@sha256:[0-9a-f]{64}$/);
  const deno = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).dependencies.deno;
  assert.equal(denoImage, `denoland/deno:bin-${deno}`);
  assert.throws(() => dockerfileDefaults("FROM x\n"), /no ARG BASE_IMAGE=/);
});

Deno.test("dockerfileCopies() lists what the Dockerfile copies from the context, not from stages", () => {
  const copies = dockerfileCopies(DOCKERFILE);
  for (const path of ["dist/entrypoint.js", "dist/diagnose.js", "images/entrypoint"]) {
    assert.ok(copies.includes(path), `${path} in ${copies}`);
  }
  assert.ok(!copies.includes("/deno"));
  assert.deepEqual(
    dockerfileCopies(
      "COPY --from=deno /deno /x\nCOPY --chmod=0755 a b \\\n  /dest/\ncopy c /d\nRUN COPY x y\n",
    ),
    ["a", "b", "c"],
  );
});

Deno.test("builderBannerFilter() drops the legacy builder's paragraph and keeps the rest", () => {
  const keep = builderBannerFilter();
  const lines = [
    "DEPRECATED: The legacy builder is deprecated and will be removed in a future release.",
    "            Install the buildx component to build images with BuildKit:",
    "            https://docs.docker.com/go/buildx/",
    "",
    "Sending build context to Docker daemon  3.1MB",
    "",
    "Step 1/9 : ARG BASE_IMAGE",
  ];
  assert.deepEqual(lines.filter(keep), [
    "Sending build context to Docker daemon  3.1MB",
    "",
    "Step 1/9 : ARG BASE_IMAGE",
  ]);
});

Deno.test("standinWarning() says the image is not a kind node image and what to do instead", () => {
  const text = standinWarning("my/node:1");
  assert.match(text, /^build-image: WARNING: my\/node:1 is NOT a kind node image\.$/m);
  assert.match(text, /--base <a kindest\/node image>/);
});

Deno.test("packageRoot() finds the checkout from the build script", () => {
  assert.equal(packageRoot(SCRIPT), REPO.replace(/\/$/, ""));
});

Deno.test("build-image --help shows every option and an example", () => {
  const { status, stdout } = command(["--help"]);
  assert.equal(status, 0);
  for (const option of ["--entry FILE", "--tag TAG", "--base IMAGE", "--deno-image IMAGE"]) {
    assert.ok(stdout.includes(option), option);
  }
  assert.match(stdout, /^ {2}npx kind-entrypoint-ts build-image --entry \.\/entrypoint\.ts /m);
});

Deno.test("build-image refuses a missing entry in one line", () => {
  const { status, stderr } = command(["--entry", "/nonexistent/entrypoint.ts"]);
  assert.equal(status, 1);
  assert.equal(stderr, "build-image: --entry /nonexistent/entrypoint.ts: no such file\n");
});

Deno.test("build-image refuses an entry that exports or reads import.meta, before Docker is asked", async () => {
  await withFiles({
    "exports.ts": "export const x = 1;\n",
    "meta.ts": "console.log(import.meta.url);\n",
  }, (dir) => {
    for (const [file, what] of [["exports.ts", '"export"'], ["meta.ts", '"import.meta"']]) {
      const { status, stderr } = command(["--entry", join(dir, file)]);
      assert.equal(status, 1);
      const errors = stderr.split("\n").filter((line) => line.startsWith("build-image: "));
      assert.deepEqual(errors, [
        `build-image: cannot bundle ${join(dir, file)}: ${what} in the bundle: ` +
        "an entrypoint must not export anything or read import.meta",
      ]);
    }
  });
});

Deno.test("build-image says so in one line when docker is not on PATH", async () => {
  await withFiles({
    "entrypoint.ts":
      `import { KIND_STEPS, main } from "kind-entrypoint-ts";\nawait main(KIND_STEPS);\n`,
  }, (dir) => {
    // A PATH with bash (zx's shell) and node (the checkout's bundle refresh), and no docker.
    const bin = join(dir, "bin");
    Deno.mkdirSync(bin);
    for (const program of ["bash", "node"]) {
      const path = spawnSync("bash", ["-c", `command -v ${program}`], { encoding: "utf8" }).stdout
        .trim();
      symlinkSync(path, join(bin, program));
    }
    const { status, stderr } = command(["--entry", join(dir, "entrypoint.ts")], { PATH: bin });
    assert.equal(status, 1);
    assert.equal(
      stderr.split("\n").filter((line) => line.startsWith("build-image: ")).join("\n"),
      "build-image: docker not found on PATH: the image is built with Docker",
    );
  });
});

const ENTRY_TEXT =
  `import { KIND_STEPS, main } from "kind-entrypoint-ts";\nawait main(KIND_STEPS);\n`;

Deno.test("the package's build-image takes its flags and the directory it runs in, not IMAGE, BASE_IMAGE, DENO_IMAGE or INIT_CWD", async () => {
  await withFiles({ "entrypoint.ts": "export const wrong = 1;\n" }, (project) => {
    Deno.mkdirSync(join(project, "images"));
    writeFileSync(join(project, "images/entrypoint.ts"), ENTRY_TEXT);
    const { status, stderr, argv } = binWithRecordingDocker(["--entry", "./entrypoint.ts"], {
      cwd: join(project, "images"),
      env: {
        IMAGE: "registry/ci:7",
        BASE_IMAGE: "registry/base:7",
        DENO_IMAGE: "registry/deno:7",
        ENTRY: "other.ts",
        // As npm sets it for `cd images && kind-entrypoint-ts build-image ...` in an npm script.
        INIT_CWD: project,
      },
    });
    assert.equal(status, 1, stderr);
    const { base, denoImage } = dockerfileDefaults(DOCKERFILE);
    assert.deepEqual(flagValues(argv, "-t"), ["kind-entrypoint-ts/custom-images:latest"]);
    assert.deepEqual(flagValues(argv, "--build-arg"), [
      `BASE_IMAGE=${base}`,
      `DENO_IMAGE=${denoImage}`,
    ]);
    assert.ok(argv.includes("kind-entrypoint-ts.entry=images/entrypoint.ts"), argv.join(" "));
  });
});

Deno.test("npm run image in a checkout still fills options not given from IMAGE, BASE_IMAGE and DENO_IMAGE", async () => {
  await withFiles({ "entrypoint.ts": ENTRY_TEXT }, (project) => {
    const { status, stderr, argv } = binWithRecordingDocker([], {
      cwd: REPO,
      script: SCRIPT,
      env: {
        ENTRY: "entrypoint.ts",
        INIT_CWD: project,
        IMAGE: "registry/ci:7",
        BASE_IMAGE: "registry/base:7",
        DENO_IMAGE: "registry/deno:7",
      },
    });
    assert.equal(status, 1, stderr);
    assert.deepEqual(flagValues(argv, "-t"), ["registry/ci:7"]);
    assert.deepEqual(flagValues(argv, "--build-arg"), [
      "BASE_IMAGE=registry/base:7",
      "DENO_IMAGE=registry/deno:7",
    ]);
    assert.ok(argv.includes(`kind-entrypoint-ts.entry=${basename(project)}/entrypoint.ts`));
    assert.ok(argv.includes("kind-entrypoint-ts.build=checkout"), argv.join(" "));
  });
});
