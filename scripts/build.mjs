// Bundles an entry file and everything it imports into one file that runs under Deno and Node:
// entrypoint.ts into dist/entrypoint.js by default, or a custom entrypoint built on mod.ts with
// `ENTRY=path/to/my-entrypoint.ts` (into dist/custom/entrypoint.js, or OUTFILE), or
// `node scripts/build.mjs ENTRY OUTFILE` (the arm64 tier's FFI probe). Every bundle the project
// makes comes from here, so a custom entrypoint gets exactly the default's settings.
//
// An entrypoint (the default or ENTRY) also gets what the node image boots from: the same
// program as a classic script, `NAME.script.js` beside `NAME.js`, and `loader.js`, which runs it
// with a V8 code cache (lib/code_cache.ts).
import { build } from "esbuild";
import { builtinModules } from "node:module";
import { basename, dirname, join, relative, resolve } from "node:path";
import { writeFileSync } from "node:fs";
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

const BUILTINS = new Set(builtinModules);

/**
 * Imports of Node's built-in modules become `require` calls, so that the bundle has no
 * `import` statement left and can run as a classic script (a `require` call of one is left to
 * the `require` the script is given).
 */
const builtinsThroughRequire = {
  name: "builtins-through-require",
  setup(build) {
    build.onResolve({ filter: /^(node:)?[a-z][a-z0-9_/]*$/ }, (args) => {
      if (args.kind === "require-call" || !BUILTINS.has(args.path.replace(/^node:/, ""))) {
        return undefined;
      }
      return { path: args.path, namespace: "builtin" };
    });
    build.onLoad({ filter: /.*/, namespace: "builtin" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
  },
};

/**
 * The same program as `bundle(entry, ...)`, as a classic script for node:vm: one expression,
 * `(async function (require) { ... })`, that the loader calls with Node's `require`. Top-level
 * `await` stays valid inside the async function. Written to `NAME.script.js` beside `outfile`.
 */
export async function bundleScript(entry, outfile) {
  const scriptfile = join(dirname(outfile), basename(outfile, ".js") + ".script.js");
  const options = bundleOptions(entry, scriptfile);
  delete options.banner;
  const result = await build({
    ...options,
    write: false,
    plugins: [builtinsThroughRequire],
  });
  const code = result.outputFiles[0].text;
  // What a script cannot hold: an ESM entry with exports, or code that reads import.meta.
  const moduleOnly = /^(import|export)\b|\bimport\.meta\b/m.exec(code);
  if (moduleOnly) {
    throw new Error(
      `${entry}: cannot be built as a script (${JSON.stringify(moduleOnly[0])} in the bundle): ` +
        "an entrypoint must not export anything or read import.meta",
    );
  }
  const text = `(async function (require) {\n"use strict";\n${code}})\n`;
  writeFileSync(scriptfile, text);
  report(scriptfile, Buffer.byteLength(text));
}

/** The loader the node image runs (loader.ts), into `loader.js` in `dir`. */
export async function bundleLoader(dir) {
  await bundle("loader.ts", join(dir, "loader.js"));
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
  if (!argEntry) {
    await bundleScript(entry, outfile);
    await bundleLoader(dirname(outfile));
  }
}
