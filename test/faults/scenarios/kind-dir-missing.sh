# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="/kind missing"
fault_setup() { rm -rf /kind; }
FLT_PORT_STATUS=1
FLT_PORT_INIT="not run"
FLT_PORT_ERROR="ERROR: configure_containerd: Command \`stat -f -c %T /kind\` exited with status 1: /usr/bin/stat: cannot read file system information for '/kind': No such file or directory"
FLT_UNCHANGED="rules /etc/resolv.conf /etc/containerd/config.toml"
FLT_ORIGINAL_STATUS=1
