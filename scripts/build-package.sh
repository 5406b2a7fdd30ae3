#!/usr/bin/env bash
# Builds what the npm package ships besides its images/ files (`npm run build:package`, run by
# `npm pack` and `npm publish` through prepack): dist/npm, the JavaScript and .d.ts files that tsc
# makes from mod.ts, testing.ts and scripts/build-image.ts and everything they import (Deno does
# not run TypeScript from node_modules, and tsc and editors want .d.ts there), and dist/diagnose.js
# and dist/relay.js, which the image carries whatever the entry (scripts/build.mjs).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
rm -rf dist/npm dist/types
mkdir -p dist/types
# The Deno namespace's types, from the Deno the package depends on: lib/ calls Deno's APIs.
node_modules/.bin/deno types >dist/types/deno.d.ts
node_modules/.bin/tsc -p tsconfig.package.json
node scripts/build.mjs >/dev/null
