# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="/etc/containerd/config.toml missing (snapshotter set)"
FLT_STEPS=containerd
FLT_ENV=(KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER=native)
fault_setup() { rm -f /etc/containerd/config.toml; }
FLT_PORT_STATUS=2
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: configure_containerd: Cannot read /etc/containerd/config.toml: no such file or directory'
FLT_ORIGINAL_STATUS=2
