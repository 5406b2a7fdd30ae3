# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS invalid (port only)"
FLT_STEPS=iptables
FLT_COMMAND_TIMEOUT_MS=soon
FLT_PORT_WARN='WARN: ignoring KIND_ENTRYPOINT_COMMAND_TIMEOUT_MS="soon": not a whole number of milliseconds between 1 and 999999999'
FLT_ORIGINAL_STATUS=0
