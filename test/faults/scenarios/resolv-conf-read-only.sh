# shellcheck shell=bash disable=SC2034,SC2016
# Both have rewritten the rules when the write fails; resolv.conf itself is untouched.
FLT_TITLE="/etc/resolv.conf read-only"
FLT_STEPS=network_magic
fault_setup() { mount -o remount,bind,ro /etc/resolv.conf; }
FLT_PORT_STATUS=1
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: enable_network_magic: Cannot write /etc/resolv.conf: read-only file system'
FLT_UNCHANGED="/etc/resolv.conf /kind/old-ipv4"
FLT_ORIGINAL_STATUS=1
