# shellcheck shell=bash disable=SC2034,SC2016
# kind's sed turns `&` into the matched text and keeps the quote: config.toml no longer parses.
FLT_TITLE='KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER with a quote, an ampersand and a command substitution (native" & $(id))'
FLT_STEPS=containerd
FLT_ENV=('KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER=native" & $(id)')
FLT_PORT_STATUS=1
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: configure_containerd: KIND_EXPERIMENTAL_CONTAINERD_SNAPSHOTTER must be a snapshotter name (letters, digits, ".", "_", "-"), got "native\" & $(id)"; /etc/containerd/config.toml was left as it was'
FLT_UNCHANGED="/etc/containerd/config.toml"
FLT_ORIGINAL_STATUS=0
fault_report() {
  section "config.toml snapshotter lines"
  grep snapshotter /etc/containerd/config.toml || echo "(none)"
}
