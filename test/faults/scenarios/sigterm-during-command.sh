# shellcheck shell=bash disable=SC2034,SC2016
# SIGTERM while select_iptables waits for update-alternatives: the port finishes that step and
# stops before the network magic; kind's bash dies at once.
FLT_TITLE="SIGTERM while a command runs (update-alternatives)"
FLT_STEPS=iptables,network_magic
fault_setup() {
  local real
  real="$(real_path update-alternatives)"
  wrap_script update-alternatives "touch /sbx/state/command.started; sleep 0.5; exec ${real} \"\$@\""
}
fault_during() {
  for _ in $(seq 1 500); do
    if [[ -e /sbx/state/command.started ]]; then
      kill -TERM "$1"
      return 0
    fi
    sleep 0.01
  done
}
FLT_PORT_STATUS=143
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: Stopped by SIGTERM before enable_network_magic; init was not started'
FLT_UNCHANGED="rules /etc/resolv.conf"
FLT_ORIGINAL_STATUS=143
