// Bundles an entry file and everything it imports into one file that Deno runs:
// entrypoint.ts into dist/entrypoint.js by default, or a custom entrypoint built on mod.ts with
// `ENTRY=path/to/my-entrypoint.ts` (into dist/custom/entrypoint.js, or OUTFILE), or
// `node scripts/build.mjs ENTRY OUTFILE` (the arm64 tier's FFI probe). Every bundle the project
// makes comes from here, so a custom entrypoint gets exactly the default's settings.
import { build } from "esbuild";
import { join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

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
    // A custom entry outside this checkout still resolves its imports from here.
    nodePaths: [join(root, "node_modules")],
    // The program uses Deno's own APIs only: no Node.js built-in, so no `require` to provide.
    banner: { js: "#!/usr/bin/env -S deno run -A" },
    logLevel: "warning",
  };
}

/** Bundles `entry` into `outfile` and prints the bundle's path and size. */
export async function bundle(entry, outfile) {
  const result = await build(bundleOptions(entry, outfile));
  report(outfile, Object.values(result.metafile.outputs)[0].bytes);
}

function report(outfile, bytes) {
  console.log(
    `${relative(process.cwd(), resolve(root, outfile))}: ${(bytes / 1024).toFixed(1)} KiB`,
  );
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
  await bundle(entry, outfile);
}
