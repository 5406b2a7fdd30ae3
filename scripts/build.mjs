// Bundles an entry file and everything it imports into one file that Deno runs:
// entrypoint.ts into dist/entrypoint.js by default, or a custom entrypoint built on mod.ts with
// `ENTRY=path/to/my-entrypoint.ts` (into dist/custom/entrypoint.js, or OUTFILE), or
// `node scripts/build.mjs ENTRY OUTFILE` (the arm64 tier's FFI probe). Every bundle the project
// makes comes from here, so a custom entrypoint gets exactly the default's settings.
//
// Beside an entrypoint (the default or ENTRY) go `diagnose.js`, the DNS diagnosis
// (lib/dns/diagnose/diagnose.ts), which lib/boot/main.ts imports only when KIND_ENTRYPOINT_DIAGNOSE is set: a boot
// neither reads nor compiles it; and `relay.js`, the DNS relay of nodes with IPv6 (relay.ts),
// which systemd runs on its own.
import { build } from "esbuild";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { existsSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
// The node_modules that holds this project's dependencies: this checkout's, or that of a project
// that installed kind-entrypoint-ts (npm hoists them beside it).
const modulesDir = dirname(dirname(createRequire(import.meta.url).resolve("esbuild/package.json")));

/** The diagnosis bundle's file name, beside the entrypoint's bundle. */
export const DIAGNOSIS_BUNDLE = "diagnose.js";

/**
 * lib/boot/main.ts's `import("../dns/diagnose/diagnose.ts")` stays a dynamic import, of the diagnosis bundle beside
 * the entrypoint's (resolved against the bundle's URL), instead of taking the diagnosis into
 * every boot's bundle. In the npm package the import is lib/boot/main.js's, of the compiled
 * `./diagnose.js`.
 */
const diagnosisApart = {
  name: "diagnosis-apart",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/dns\/diagnose\/diagnose\.[jt]s$/ }, (args) => {
      if (
        args.kind !== "dynamic-import" || !/[/\\]lib[/\\]boot[/\\]main\.[jt]s$/.test(args.importer)
      ) {
        return undefined;
      }
      return { path: `./${DIAGNOSIS_BUNDLE}`, external: true };
    });
  },
};

/** The esbuild options for bundling `entry` (relative to the repo or absolute) into `outfile`. */
export function bundleOptions(entry, outfile) {
  return {
    absWorkingDir: root,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    minifyWhitespace: false,
    legalComments: "none",
    metafile: true,
    // In a checkout, the package's name (as an entry imports it) is this checkout's mod.ts.
    alias: existsSync(join(root, "mod.ts")) ? { "kind-entrypoint-ts": join(root, "mod.ts") } : {},
    // A custom entry outside any project still resolves its imports from here.
    nodePaths: [modulesDir],
    // The program uses Deno's own APIs only: no Node.js built-in, so no `require` to provide.
    banner: { js: "#!/usr/bin/env -S deno run -A" },
    plugins: [diagnosisApart],
    logLevel: "warning",
  };
}

/** Bundles `entry` into `outfile` and prints the bundle's path and size. */
export async function bundle(entry, outfile) {
  const result = await build(bundleOptions(entry, outfile));
  report(outfile, Object.values(result.metafile.outputs)[0].bytes);
}

/**
 * Bundles an entrypoint: as `bundle`, refusing an entry that exports or reads `import.meta`. An
 * entrypoint is a program the image runs from its own directory: an export has no importer, and
 * `import.meta` would name the image's file, not the entry's source.
 */
export async function bundleEntrypoint(entry, outfile) {
  const options = bundleOptions(entry, outfile);
  const result = await build({ ...options, write: false });
  const code = result.outputFiles[0].text;
  const moduleOnly = /^export\b|\bimport\.meta\b/m.exec(code);
  if (moduleOnly) {
    throw new Error(
      `${entry}: ${JSON.stringify(moduleOnly[0])} in the bundle: ` +
        "an entrypoint must not export anything or read import.meta",
    );
  }
  await build(options);
  report(outfile, Buffer.byteLength(code));
}

function report(outfile, bytes) {
  console.log(`${shownPath(outfile)}: ${(bytes / 1024).toFixed(1)} KiB`);
}

/** `file` relative to the repository when it is inside it (`dist/...`), else absolute. */
function shownPath(file) {
  const path = resolve(root, file);
  const inRepo = relative(root, path);
  return inRepo.startsWith("..") || isAbsolute(inRepo) ? path : inRepo;
}

/** The DNS diagnosis (lib/dns/diagnose/diagnose.ts), into `diagnose.js` in `dir`, beside an entrypoint. */
export async function bundleDiagnosis(dir) {
  await bundle("lib/dns/diagnose/diagnose.ts", join(dir, DIAGNOSIS_BUNDLE));
}

/**
 * The DNS relay of nodes with IPv6 (relay.ts), into `relay.js` in `dir`: its own small bundle, not
 * part of the entrypoint's, on Deno's APIs alone.
 */
export async function bundleRelay(dir) {
  const outfile = join(dir, "relay.js");
  const options = bundleOptions("relay.ts", outfile);
  options.banner = {
    js:
      "#!/usr/bin/env -S deno run --unstable-net --allow-net --allow-env --allow-sys=networkInterfaces",
  };
  const result = await build(options);
  const inputs = Object.keys(result.metafile.inputs);
  if (inputs.some((input) => input.startsWith("node_modules/") || input.startsWith("node:"))) {
    throw new Error(`relay.ts: the relay's bundle must not import packages: ${inputs.join(", ")}`);
  }
  report(outfile, Object.values(result.metafile.outputs)[0].bytes);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // Arguments are paths relative to the current directory; ENTRY is relative to where `npm run`
  // was started (INIT_CWD), as a user would expect.
  const [argEntry, argOutfile] = process.argv.slice(2);
  const custom = argEntry
    ? resolve(argEntry)
    : process.env.ENTRY && resolve(process.env.INIT_CWD ?? process.cwd(), process.env.ENTRY);
  const entry = custom || "entrypoint.ts";
  const outfile = resolve(
    root,
    (argOutfile && resolve(argOutfile)) ?? process.env.OUTFILE ??
      (custom ? "dist/custom/entrypoint.js" : "dist/entrypoint.js"),
  );
  if (argEntry) {
    await bundle(entry, outfile);
  } else {
    await bundleEntrypoint(entry, outfile);
    await bundleDiagnosis(dirname(outfile));
    await bundleRelay(dirname(outfile));
  }
}
