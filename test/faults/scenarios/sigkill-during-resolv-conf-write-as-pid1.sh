# shellcheck shell=bash disable=SC2034,SC2016
# SIGKILL to the entrypoint as PID 1 (docker kill, or docker stop after its grace period) while
# /etc/resolv.conf (32 MiB, rewritten in place: it is a bind mount) is being written: the watcher
# sends it when the file is opened for writing, after the open and before the first byte
# (signal_at_write_open: the writer is held in open(2) and stopped, so the kill lands there however
# the machine schedules; iptables-save waits until the watcher is ready). Nothing can catch
# SIGKILL; the file must still never be empty or shorter than before.
FLT_TITLE="SIGKILL to PID 1 while /etc/resolv.conf is being written"
FLT_STEPS=network_magic
FLT_PID1=1
FLT_HANG_AFTER=30
fault_setup() {
  huge_resolv_conf 33554432
  gate_until_watching iptables-save
}
fault_during() { signal_at_write_open SIGKILL "$1" /etc/resolv.conf; }
fault_report() { report_signal_sent SIGKILL /etc/resolv.conf; }
FLT_PORT_STATUS=137
FLT_PORT_INIT="not run"
FLT_PORT_EXPECT_LINES="SIGKILL sent while resolv.conf was being written"
FLT_ORIGINAL_STATUS=137
FLT_ORIGINAL_DAMAGE='\(lost\|truncated\) /etc/resolv.conf'
