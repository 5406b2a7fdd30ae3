# shellcheck shell=bash disable=SC2034,SC2016
# Written as asked by both; containerd itself reports an unknown snapshotter when it starts.
FLT_TITLE="KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER unknown (nonexistent)"
FLT_STEPS=containerd
FLT_ENV=(KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER=nonexistent)
FLT_PORT_EXPECT_LINES='  snapshotter = "nonexistent"'
FLT_ORIGINAL_STATUS=0
fault_report() {
  section "config.toml snapshotter lines"
  grep snapshotter /etc/containerd/config.toml || echo "(none)"
}
