#!/usr/bin/env node
// The package's command. `kind-entrypoint-ts build-image ...` runs the image build
// (scripts/build-image.ts, as tsc compiles it into dist/npm) under Node.
import process from "node:process";

const USAGE = `Usage: kind-entrypoint-ts build-image --entry FILE [options]
  kind-entrypoint-ts build-image --help   shows the options and an example
`;

const [command, ...args] = process.argv.slice(2);
if (command === "build-image") {
  const { main } = await import("../dist/npm/scripts/build-image.js");
  process.exitCode = await main(args);
} else if (command === undefined || command === "--help" || command === "-h") {
  process.stdout.write(USAGE);
} else {
  process.stderr.write(`kind-entrypoint-ts: unknown command ${command} (see --help)\n`);
  process.exitCode = 2;
}
