# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="/kind read-only"
fault_setup() { mount --bind /kind /kind && mount -o remount,bind,ro /kind; }
FLT_PORT_STATUS=1
FLT_PORT_INIT="not run"
FLT_PORT_ERROR='ERROR: fix_product_uuid: Cannot write /kind/product_uuid: read-only file system'
FLT_UNCHANGED="rules /etc/resolv.conf"
FLT_ORIGINAL_STATUS=1
