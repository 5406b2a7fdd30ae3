#!/bin/bash
# Benchmark scaffolding for the per-step breakdown of kind's original script: bind mounted over
# /usr/local/bin/entrypoint in a traced node, it runs the original (mounted at
# /bench/original-entrypoint) with xtrace and a timestamp on every trace line. The trace goes to
# stderr, so `docker logs` carries it. PS4 is set inside: bash running as root does not take it
# from the environment. Never part of an image.
# shellcheck disable=SC2016 # expanded by the inner bash, on every trace line
exec /bin/bash -c 'PS4="+ \$EPOCHREALTIME "; set -x; source /bench/original-entrypoint "$@"' \
  entrypoint "$@"
