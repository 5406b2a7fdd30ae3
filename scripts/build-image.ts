/**
 * Builds the kind node image: `npm run image` in a checkout, `npx kind-entrypoint-ts build-image`
 * in a project that installed the package. One path for both: the entry is bundled with the
 * project's esbuild settings (scripts/build.mjs) into a build context holding only what
 * images/Dockerfile copies, and `docker build` makes the image.
 *
 * Options come from the command line, relative paths from the working directory. Only `npm run
 * image` in a checkout also reads the variables ENTRY, IMAGE, BASE_IMAGE and DENO_IMAGE for the
 * options not given (the test bed passes them that way), with ENTRY taken from where npm was
 * started: the package's bin never reads them, so a CI's own IMAGE cannot become the tag.
 *
 * Without access to Docker Hub, and no --base/--deno-image given, the Dockerfile's default
 * images cannot be pulled. In a checkout the build then uses the test bed's offline stand-ins (a
 * debootstrapped Debian with systemd, and Deno from node_modules): that image boots the
 * entrypoint and systemd but has no kubelet, kubeadm or containerd, so it is labelled and, unless
 * --tag says otherwise, tagged as not for kind, and the build ends with a warning. Outside a
 * checkout there are no stand-ins: the build stops and says which image it could not pull.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { $ } from "zx/core";
import { bundleEntrypoint } from "./build.mjs";

/** The tag of the default image built in a checkout. */
export const NODE_TAG = "kind-entrypoint-ts/node:latest";
/** The tag of the default image built on the offline stand-ins. */
export const STANDIN_TAG = "kind-entrypoint-ts/standin-not-for-kind:latest";
/** The label test/e2e/base-image.sh puts on the debootstrap stand-in base. */
export const STANDIN_LABEL = "kind-entrypoint-ts.e2e";
/**
 * The label saying which build made an image: `checkout` (`npm run image` and the test bed, which
 * `npm run clean` removes) or `package` (the package's build-image, a user's image, never removed).
 * It is set on every build, so it is never the one inherited from the base.
 */
export const BUILD_LABEL = "kind-entrypoint-ts.build";
/** The file in the build context holding the entry's bundle. */
const BUNDLE = "dist/entrypoint.js";

/** A failure the command reports as one line, without a stack. */
export class BuildImageError extends Error {
  override name = "BuildImageError";
}

/** What to build: the command line's options, resolved against the environment. */
export interface BuildOptions {
  /** Absolute path of the custom entry; undefined builds the checkout's own entrypoint. */
  entry?: string;
  /** The tag given with --tag, if any. */
  tag?: string;
  /** The base (kind node) image given with --base, if any. */
  base?: string;
  /** The image holding /deno given with --deno-image, if any. */
  denoImage?: string;
}

/** The command's usage text, printed by --help. */
export const USAGE = `Usage: kind-entrypoint-ts build-image --entry FILE [options]

Bundles FILE (a TypeScript entrypoint that calls main() from kind-entrypoint-ts) and builds a
kind node image that runs it under Deno.

Options:
  --entry FILE        the entrypoint to bundle (relative to the current directory)
  --tag TAG           the image's tag (default kind-entrypoint-ts/custom-NAME:latest,
                      NAME from the entry's file or directory name)
  --base IMAGE        the kind node image to build on (default: the Dockerfile's kindest/node)
  --deno-image IMAGE  an image with the Deno binary at /deno (default: denoland/deno:bin-VERSION)
  -h, --help          this text

Example:
  npx kind-entrypoint-ts build-image --entry ./entrypoint.ts --tag my/node:1 --base kindest/node:v1.36.1
`;

/**
 * The options of a `build-image` command line, or "help". Relative paths are taken from `cwd`;
 * `env` fills in options not given (ENTRY, IMAGE, BASE_IMAGE, DENO_IMAGE). Throws
 * BuildImageError on an unknown option or a stray argument.
 */
export function parseCommandLine(
  argv: readonly string[],
  { cwd, env }: { cwd: string; env: Readonly<Record<string, string | undefined>> },
): BuildOptions | "help" {
  const args = argv[0] === "build-image" ? argv.slice(1) : argv;
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        entry: { type: "string" },
        tag: { type: "string" },
        base: { type: "string" },
        "deno-image": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new BuildImageError(`${(error as Error).message} (see --help)`);
  }
  const { values } = parsed;
  if (values.help) return "help";
  const given = (value: string | undefined) => value === "" ? undefined : value;
  const entry = given(values.entry) ?? given(env.ENTRY);
  return {
    entry: entry === undefined ? undefined : resolve(cwd, entry),
    tag: given(values.tag) ?? given(env.IMAGE),
    base: given(values.base) ?? given(env.BASE_IMAGE),
    denoImage: given(values["deno-image"]) ?? given(env.DENO_IMAGE),
  };
}

/**
 * The name a custom entry's image is tagged with: examples/registry-mirror/entrypoint.ts gives
 * registry-mirror, my-entrypoint.ts gives my-entrypoint.
 */
export function customName(entry: string): string {
  let name = basename(entry).replace(/\.[^.]*$/, "");
  // A file named like the default one says nothing; its directory does.
  if (name === "entrypoint" || name === "main") name = basename(dirname(entry));
  name = name.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[^a-z0-9]+/, "")
    .replace(/[^a-z0-9]+$/, "");
  return name || "entry";
}

/** The tag an image gets when --tag is not given. */
export function defaultTag(entry: string | undefined, standin: boolean): string {
  // A custom entrypoint's image never replaces the default one.
  if (entry === undefined) return standin ? STANDIN_TAG : NODE_TAG;
  return `kind-entrypoint-ts/custom-${customName(entry)}${
    standin ? "-standin-not-for-kind" : ""
  }:latest`;
}

/** The default base and Deno images, from the Dockerfile's `ARG BASE_IMAGE=` and `ARG DENO_IMAGE=`. */
export function dockerfileDefaults(dockerfile: string): { base: string; denoImage: string } {
  const arg = (name: string) => {
    const match = new RegExp(`^ARG ${name}=(\\S+)\\s*$`, "m").exec(dockerfile);
    if (!match) throw new BuildImageError(`images/Dockerfile has no ARG ${name}=... default`);
    return match[1];
  };
  return { base: arg("BASE_IMAGE"), denoImage: arg("DENO_IMAGE") };
}

/**
 * The files a build context must hold: the sources of the Dockerfile's `COPY` instructions that
 * copy from the context (not `--from` another stage), as context-relative paths.
 */
export function dockerfileCopies(dockerfile: string): string[] {
  const joined = dockerfile.replace(/\\\n/g, " ");
  const sources = joined.split("\n").flatMap((line) => {
    const words = line.trim().split(/\s+/);
    if (words[0]?.toUpperCase() !== "COPY") return [];
    const args = words.slice(1);
    if (args.some((word) => word.startsWith("--from"))) return [];
    return args.filter((word) => !word.startsWith("--")).slice(0, -1);
  });
  return [...new Set(sources)];
}

/**
 * A filter for the lines of `docker build`'s stderr that drops the legacy builder's deprecation
 * paragraph (BuildKit needs the buildx plugin, which Debian's docker.io does not ship, so newer
 * clients print it on every build). Call it with each line in order; it says whether to keep it.
 */
export function builderBannerFilter(): (line: string) => boolean {
  let skipping = false;
  return (line) => {
    if (line.startsWith("DEPRECATED: The legacy builder")) {
      skipping = true;
      return false;
    }
    if (skipping && (line === "" || line.startsWith(" "))) {
      if (line === "") skipping = false;
      return false;
    }
    skipping = false;
    return true;
  };
}

/** The warning a build on the offline stand-in base ends with: the image boots, kind cannot use it. */
export function standinWarning(tag: string): string {
  const rule = "=".repeat(72);
  return [
    "",
    rule,
    `WARNING: ${tag} is NOT a kind node image.`,
    "It is built on the test bed's offline stand-in base (Debian with systemd; no kubelet,",
    "kubeadm or containerd): it runs the entrypoint and boots systemd, nothing more, so",
    `\`kind create cluster --image ${tag}\` cannot work with it.`,
    "For kind, build where Docker Hub is reachable, or pass --base <a kindest/node image>.",
    rule,
  ].map((line) => line === "" ? line : `build-image: ${line}`).join("\n") + "\n";
}

/** The directory of the kind-entrypoint-ts package (a checkout, or the installed package). */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (
      existsSync(manifest) &&
      JSON.parse(readFileSync(manifest, "utf8")).name === "kind-entrypoint-ts"
    ) {
      return dir;
    }
  }
  throw new BuildImageError(`no kind-entrypoint-ts package.json above ${from}`);
}

/** Whether `root` is a checkout of the project (with the test bed), not the installed package. */
export function isCheckout(root: string): boolean {
  return existsSync(join(root, "test/e2e/lib.sh")) && existsSync(join(root, "entrypoint.ts"));
}

const sh = $({ quiet: true, nothrow: true, verbose: false });

/** The last non-empty line of a command's stderr, to quote in a one-line error. */
function lastLine(text: string): string {
  return text.trim().split("\n").filter((line) => line.trim() !== "").at(-1)?.trim() ?? "";
}

/** Fails unless the docker command is there and its daemon answers (in a checkout, starts it). */
async function checkDocker(root: string, checkout: boolean): Promise<void> {
  if ((await sh`command -v docker`).exitCode !== 0) {
    throw new BuildImageError("docker not found on PATH: the image is built with Docker");
  }
  if ((await sh`docker info`).exitCode === 0) return;
  if (checkout) {
    const started = await sh`source ${join(root, "test/e2e/lib.sh")} && e2e_ensure_dockerd`;
    if (started.exitCode === 0) return;
  }
  const info = await sh`docker info`;
  throw new BuildImageError(`cannot reach the Docker daemon: ${lastLine(info.stderr)}`);
}

/** Pulls `ref` unless it is there; the reason when it can be neither found nor pulled. */
async function pullReason(ref: string): Promise<string | undefined> {
  if ((await sh`docker image inspect ${ref}`).exitCode === 0) return undefined;
  const pull = await sh({ timeout: "120s" })`docker pull -q ${ref}`;
  if (pull.exitCode === 0) return undefined;
  return lastLine(pull.stderr) || `docker pull exited with status ${pull.exitCode}`;
}

/** The test bed's offline stand-in base and Deno images (built on first use). */
async function standinImages(root: string): Promise<{ base: string; denoImage: string }> {
  const lib = join(root, "test/e2e/lib.sh");
  const result = await sh`source ${lib} && e2e_ensure_dockerd && e2e_base_image && e2e_deno_image`;
  const [base, denoImage] = result.stdout.trim().split("\n").slice(-2);
  if (result.exitCode !== 0 || !base || !denoImage) {
    throw new BuildImageError(
      `cannot build the test bed's stand-in images: ${lastLine(result.stderr)}`,
    );
  }
  return { base, denoImage };
}

/** The base and Deno images to build on, pulled if need be; which of them could not be had. */
async function chooseImages(
  root: string,
  options: BuildOptions,
  { checkout, dockerfile }: { checkout: boolean; dockerfile: string },
): Promise<{ base: string; denoImage: string }> {
  const defaults = dockerfileDefaults(dockerfile);
  const base = options.base ?? defaults.base;
  const denoImage = options.denoImage ?? defaults.denoImage;
  for (const [ref, option] of [[base, "--base"], [denoImage, "--deno-image"]] as const) {
    const reason = await pullReason(ref);
    if (reason === undefined) continue;
    if (checkout && options.base === undefined && options.denoImage === undefined) {
      process.stderr.write(
        "build-image: cannot pull kindest/node or denoland/deno (offline?): building on the test bed's offline stand-ins\n",
      );
      return await standinImages(root);
    }
    const given = option === "--base" ? options.base : options.denoImage;
    throw new BuildImageError(
      `cannot pull ${given === undefined ? "the default" : "the"} ${
        option.slice(2)
      } image ${ref}: ${reason}` +
        (given === undefined ? ` (pass ${option} with an image you have)` : ""),
    );
  }
  return { base, denoImage };
}

/** Succeeds when `image` is the test bed's debootstrap stand-in, which has no kubelet. */
async function isStandinBase(image: string): Promise<boolean> {
  const label =
    await sh`docker image inspect -f ${`{{index .Config.Labels "${STANDIN_LABEL}"}}`} ${image}`;
  const value = label.stdout.trim();
  return label.exitCode === 0 && value !== "" && value !== "<no value>";
}

/** The newest modification time under `paths` (files, or directories walked whole). */
function newestMtime(paths: readonly string[]): number {
  let newest = 0;
  for (const path of paths) {
    if (!existsSync(path)) continue;
    const stat = statSync(path);
    newest = Math.max(
      newest,
      stat.isDirectory()
        ? newestMtime(readdirSync(path).map((name) => join(path, name)))
        : stat.mtimeMs,
    );
  }
  return newest;
}

/** In a checkout, rebuilds dist/ (scripts/build.mjs) when a bundle is missing or older than its sources. */
async function refreshCheckoutBundles(root: string, copies: readonly string[]): Promise<void> {
  const outputs = copies.filter((path) => path.startsWith("dist/")).map((path) => join(root, path));
  const sources = ["entrypoint.ts", "relay.ts", "lib", "package-lock.json", "scripts"]
    .map((path) => join(root, path));
  const stale = outputs.some((path) => !existsSync(path)) ||
    newestMtime(sources) > Math.min(...outputs.map((path) => statSync(path).mtimeMs));
  if (!stale) return;
  const build = await $({
    cwd: root,
    verbose: false,
    nothrow: true,
    stdio: "inherit",
  })`node scripts/build.mjs`;
  if (build.exitCode !== 0) {
    throw new BuildImageError(`node scripts/build.mjs exited with status ${build.exitCode}`);
  }
}

/** Runs docker build in `context`, its stderr shown without the legacy builder's banner. */
async function dockerBuild(context: string, args: readonly string[]): Promise<void> {
  // --force-rm: the legacy builder otherwise leaves the container of a failed RUN behind.
  const build = $({
    cwd: context,
    nothrow: true,
    verbose: false,
    quiet: true,
    stdio: ["ignore", "inherit", "pipe"],
  })`docker build --force-rm ${args} .`;
  const keep = builderBannerFilter();
  let pending = "";
  const show = (lines: string[]) => {
    for (const line of lines) if (keep(line)) process.stderr.write(line + "\n");
  };
  build.stderr.on("data", (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split("\n");
    pending = lines.pop() ?? "";
    show(lines);
  });
  const result = await build;
  if (pending !== "") show([pending]);
  if (result.exitCode !== 0) {
    throw new BuildImageError(
      `docker build exited with status ${result.exitCode} (its output is above)`,
    );
  }
}

/** Builds the image; returns its tag. Progress and docker's output go to stdout and stderr. */
export async function buildImage(
  options: BuildOptions,
  root: string = packageRoot(),
): Promise<string> {
  const checkout = isCheckout(root);
  if (options.entry === undefined && !checkout) {
    throw new BuildImageError(
      "--entry is required: the file that calls main() from kind-entrypoint-ts (see --help)",
    );
  }
  if (options.entry !== undefined && !existsSync(options.entry)) {
    throw new BuildImageError(`--entry ${options.entry}: no such file`);
  }
  const dockerfile = readFileSync(join(root, "images/Dockerfile"), "utf8");
  const copies = dockerfileCopies(dockerfile);
  if (!copies.includes(BUNDLE)) {
    throw new BuildImageError(`images/Dockerfile does not copy ${BUNDLE}`);
  }
  if (checkout) await refreshCheckoutBundles(root, copies);

  // A context of just the files the Dockerfile copies: sending the checkout would send
  // node_modules (hundreds of MB) to the daemon on every build.
  const context = mkdtempSync(join(tmpdir(), "kind-entrypoint-ts-image-"));
  try {
    if (options.entry !== undefined) {
      // Bundled first: an entry that cannot run in the image stops the build before Docker is asked.
      mkdirSync(join(context, "dist"), { recursive: true });
      try {
        await bundleEntrypoint(options.entry, join(context, BUNDLE));
      } catch (error) {
        const reason = (error as Error).message.split("\n")[0].replace(`${options.entry}: `, "");
        throw new BuildImageError(`cannot bundle ${options.entry}: ${reason}`);
      }
    }
    for (const path of copies) {
      if (options.entry !== undefined && path === BUNDLE) continue;
      const from = join(root, path);
      if (!existsSync(from)) {
        throw new BuildImageError(`${from} is missing: images/Dockerfile copies ${path}`);
      }
      mkdirSync(dirname(join(context, path)), { recursive: true });
      copyFileSync(from, join(context, path));
    }
    mkdirSync(join(context, "images"), { recursive: true });
    copyFileSync(join(root, "images/Dockerfile"), join(context, "images/Dockerfile"));

    await checkDocker(root, checkout);
    const { base, denoImage } = await chooseImages(root, options, { checkout, dockerfile });
    const standin = await isStandinBase(base);
    const tag = options.tag ?? defaultTag(options.entry, standin);
    const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
    const args = [
      ...["-t", tag, "-f", "images/Dockerfile"],
      ...[
        "--label",
        "kind-entrypoint-ts.image=node",
        "--label",
        `kind-entrypoint-ts.version=${version}`,
        "--label",
        `${BUILD_LABEL}=${checkout ? "checkout" : "package"}`,
      ],
      ...(standin ? ["--label", "kind-entrypoint-ts.standin=true"] : []),
      ...(options.entry === undefined ? [] : [
        "--label",
        `kind-entrypoint-ts.entry=${basename(dirname(options.entry))}/${basename(options.entry)}`,
      ]),
      ...["--build-arg", `BASE_IMAGE=${base}`, "--build-arg", `DENO_IMAGE=${denoImage}`],
    ];
    await dockerBuild(context, args);
    if (checkout && options.tag === undefined) {
      // Where images/boot-once.sh and scripts/try-node.sh find the image just built.
      mkdirSync(join(root, ".cache"), { recursive: true });
      writeFileSync(join(root, ".cache/image-tag"), tag + "\n");
    }
    if (standin) process.stderr.write(standinWarning(tag));
    return tag;
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/**
 * The command: `build-image [options]`, as the package's bin runs it: options from the command
 * line only, relative paths from the working directory. `npm run image` passes a checkout's
 * `cwd` (where npm was started) and `env` (the fallbacks of parseCommandLine). Returns the exit
 * status; a failure is one `build-image: ...` line on stderr.
 */
export async function main(
  argv: readonly string[],
  { cwd = process.cwd(), env = {} }: {
    cwd?: string;
    env?: Readonly<Record<string, string | undefined>>;
  } = {},
): Promise<number> {
  try {
    const options = parseCommandLine(argv, { cwd, env });
    if (options === "help") {
      process.stdout.write(USAGE);
      return 0;
    }
    const tag = await buildImage(options);
    process.stdout.write(`build-image: built ${tag}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof BuildImageError)) throw error;
    process.stderr.write(`build-image: ${error.message}\n`);
    return 1;
  }
}

if (import.meta.main) {
  // `npm run image`: npm starts it in the checkout's root and says in INIT_CWD where it was run.
  const checkout = isCheckout(packageRoot());
  process.exitCode = await main(
    process.argv.slice(2),
    checkout ? { cwd: process.env.INIT_CWD ?? process.cwd(), env: process.env } : {},
  );
}
