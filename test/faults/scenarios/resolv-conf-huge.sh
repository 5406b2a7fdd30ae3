# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="/etc/resolv.conf huge (32 MiB)"
FLT_STEPS=network_magic
FLT_HANG_AFTER=30
fault_setup() { huge_resolv_conf 33554432; }
FLT_PORT_EXPECT_LINES="nameserver 172.30.0.1"
FLT_ORIGINAL_STATUS=0
