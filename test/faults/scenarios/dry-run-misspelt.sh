# shellcheck shell=bash disable=SC2034,SC2016
# A misspelt switch must not turn a dry run into a real one: the port stops before any step.
# (kind's script has no such switch and runs as usual.)
FLT_TITLE="KIND_ENTRYPOINT_DRYRUN=1, a misspelt dry-run switch (port only)"
FLT_STEPS=network_magic
FLT_ENV=('KIND_ENTRYPOINT_DRYRUN=1')
FLT_PORT_STATUS=1
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: KIND_ENTRYPOINT_DRYRUN is not a variable of this entrypoint (did you mean KIND_ENTRYPOINT_DRY_RUN?); nothing was changed'
FLT_UNCHANGED="/etc/resolv.conf rules"
FLT_ORIGINAL_STATUS=0
