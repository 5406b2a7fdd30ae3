#!/bin/sh
# Benchmark scaffolding for the floor of any Deno entrypoint: bind mounted over
# /usr/local/bin/entrypoint in a node of the port's image, it starts the image's Deno the way the
# launcher does, on an empty program (mounted at /bench/empty.js) instead of the bundle, and then
# execs the command. Never part of an image.
DENO_DIR=/proc/kind-entrypoint-ts-no-cache DENO_NO_UPDATE_CHECK=1 \
  /usr/local/bin/deno run -A --no-prompt --cached-only --no-config /bench/empty.js
exec "$@"
