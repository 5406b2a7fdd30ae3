# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="/etc/resolv.conf empty"
FLT_STEPS=network_magic
fault_setup() { : >/etc/resolv.conf; }
FLT_ORIGINAL_STATUS=0
