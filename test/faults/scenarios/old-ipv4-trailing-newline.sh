# shellcheck shell=bash disable=SC2034,SC2016
# `$(cat)` drops the newline; so does the port. Both rewrite and regenerate the certificate.
FLT_TITLE="/kind/old-ipv4 with a trailing newline (address changed)"
FLT_STEPS=network_magic
FLT_CONTROL_PLANE=1
FLT_OLD_IPV4=$'172.30.0.5\n'
FLT_PORT_EXPECT_LINES="INFO: detected old IPv4 address: 172.30.0.5"
FLT_ORIGINAL_STATUS=0
