# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="/etc/resolv.conf missing"
FLT_STEPS=network_magic
fault_setup() { umount /etc/resolv.conf && rm -f /etc/resolv.conf; }
FLT_PORT_STATUS=1
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: enable_network_magic: Cannot read /etc/resolv.conf: no such file or directory'
FLT_UNCHANGED="rules /etc/resolv.conf /kind/old-ipv4"
FLT_ORIGINAL_STATUS=1
