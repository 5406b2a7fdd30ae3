# shellcheck shell=bash disable=SC2034,SC2016
# A switch value the port does not understand stops it before any step (kind has no such switch).
FLT_TITLE="KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS invalid (port only)"
FLT_STEPS=iptables
FLT_COMMAND_TIMEOUT_MS=soon
FLT_PORT_STATUS=1
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS="soon" is not understood (not a whole number in that range; accepted: a whole number of milliseconds between 1 and 999999999); nothing was changed'
FLT_ORIGINAL_STATUS=0
