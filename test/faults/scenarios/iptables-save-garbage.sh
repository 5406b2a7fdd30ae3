# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="iptables-save prints garbage"
FLT_STEPS=network_magic
fault_setup() { wrap iptables-save garbage; }
FLT_PORT_STATUS=1
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: enable_network_magic: Cannot parse iptables-save output: line 1 is outside a table: "\u0001\u0002garbage ��"'
FLT_UNCHANGED="rules /etc/resolv.conf /kind/old-ipv4"
FLT_ORIGINAL_STATUS=1
