# shellcheck shell=bash disable=SC2034,SC2016
# SIGKILL to the entrypoint as PID 1 while /etc/resolv.conf is rewritten in place with a much
# shorter text (KIND_DNS_SEARCH="" drops its ninety search lines): a watcher sends it as soon as
# the file changes. Whenever the kill lands, the file must read as the old text or the new one:
# never the new text followed by the old text's tail, which would keep search lines.
FLT_TITLE="SIGKILL to PID 1 while /etc/resolv.conf is rewritten with a shorter text"
FLT_STEPS=network_magic
FLT_PID1=1
FLT_HANG_AFTER=30
FLT_RESOLV=many-search-lines.conf
FLT_ENV=(KIND_DNS_SEARCH=)
fault_armed() { signal_when_file_changes SIGKILL /etc/resolv.conf; }
fault_report() { report_signal_sent SIGKILL /etc/resolv.conf; }
FLT_PORT_STATUS=137
FLT_PORT_INIT="not run"
FLT_PORT_EXPECT_LINES="SIGKILL sent while resolv.conf was being written"
FLT_PORT_REJECT_LINES="search left-over-01.example
search left-over-90.example"
FLT_ORIGINAL_SAME_AS=sigkill-during-resolv-conf-write-as-pid1
