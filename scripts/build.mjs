// Bundles entrypoint.ts and everything it imports into dist/entrypoint.js (runs under Deno and Node).
// `node scripts/build.mjs ENTRY OUTFILE` bundles another entry the same way (the arm64 tier's
// FFI probe).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
import { join } from "node:path";

const [entry = "entrypoint.ts", outfile = "dist/entrypoint.js"] = process.argv.slice(2);
const result = await build({
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
  // zx's ESM entry picks core.cjs through `globalThis.Deno ? require(...)`, which breaks once
  // bundled; point at the CommonJS build directly.
  alias: { "zx/core": join(root, "node_modules/zx/build/core.cjs") },
  banner: {
    js: [
      "#!/usr/bin/env -S deno run -A",
      'import { createRequire as __kindCreateRequire } from "node:module";',
      "const require = __kindCreateRequire(import.meta.url);",
    ].join("\n"),
  },
  logLevel: "warning",
});
const bytes = Object.values(result.metafile.outputs)[0].bytes;
console.log(`${outfile}: ${(bytes / 1024).toFixed(1)} KiB`);
