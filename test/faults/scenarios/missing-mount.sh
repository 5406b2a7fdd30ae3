# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="mount missing from PATH"
fault_setup() { hide mount; }
FLT_PORT_STATUS=1
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: fix_mount: `chown root:root` of mount and umount failed: mount is not in PATH'
FLT_UNCHANGED="rules /etc/resolv.conf /etc/machine-id"
FLT_ORIGINAL_STATUS=1
