# shellcheck shell=bash disable=SC2034,SC2016
# SIGTERM arrives while /etc/resolv.conf (32 MiB, rewritten in place: it is a bind mount) is
# being written: a watcher sends it as soon as the file changes (its size or its mtime), that is
# while the write is going on (a write of 32 MiB takes tens of milliseconds).
FLT_TITLE="SIGTERM while /etc/resolv.conf is being written"
FLT_STEPS=network_magic
FLT_HANG_AFTER=30
fault_setup() { huge_resolv_conf 33554432; }
fault_armed() { signal_when_file_changes SIGTERM /etc/resolv.conf; }
fault_report() { report_signal_sent SIGTERM /etc/resolv.conf; }
FLT_PORT_STATUS=143
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: Stopped by SIGTERM after the last step; init was not started'
FLT_PORT_EXPECT_LINES="SIGTERM sent while resolv.conf was being written"
FLT_ORIGINAL_STATUS=143
FLT_ORIGINAL_DAMAGE="truncated /etc/resolv.conf"
