# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="systemd-machine-id-setup missing from PATH"
fault_setup() { hide systemd-machine-id-setup; }
FLT_PORT_STATUS=127
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: fix_machine_id: Command `systemd-machine-id-setup` could not be run: command not found in PATH'
FLT_UNCHANGED="rules /etc/resolv.conf"
FLT_ORIGINAL_STATUS=127
