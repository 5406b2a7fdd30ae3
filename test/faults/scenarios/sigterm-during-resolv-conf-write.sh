# shellcheck shell=bash disable=SC2034,SC2016
# SIGTERM arrives while /etc/resolv.conf (32 MiB, rewritten in place: it is a bind mount) is
# being written: the watcher sends it when the file is opened for writing, after the open and
# before the first byte (signal_at_write_open: the writer is held in open(2) and stopped, so the
# signal lands there however the machine schedules; iptables-save waits until the watcher is
# ready). kind's bash has truncated the file by then and dies before it writes it again.
FLT_TITLE="SIGTERM while /etc/resolv.conf is being written"
FLT_STEPS=network_magic
FLT_HANG_AFTER=30
fault_setup() {
  huge_resolv_conf 33554432
  gate_until_watching iptables-save
}
fault_during() { signal_at_write_open SIGTERM "$1" /etc/resolv.conf; }
fault_report() { report_signal_sent SIGTERM /etc/resolv.conf; }
FLT_PORT_STATUS=143
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: Stopped by SIGTERM after the last step; init was not started'
FLT_PORT_EXPECT_LINES="SIGTERM sent while resolv.conf was being written"
FLT_ORIGINAL_STATUS=143
FLT_ORIGINAL_DAMAGE="truncated /etc/resolv.conf"
