# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="systemd-machine-id-setup hangs"
fault_setup() { wrap systemd-machine-id-setup hang; }
FLT_PORT_STATUS=124
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: fix_machine_id: Command `systemd-machine-id-setup` timed out after 1500 ms'
FLT_UNCHANGED="rules /etc/resolv.conf"
FLT_ORIGINAL_STATUS=hung
