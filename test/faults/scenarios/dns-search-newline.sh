# shellcheck shell=bash disable=SC2034,SC2016
# kind writes the value as it is: the line break adds a nameserver line to the node's (and every
# pod's) resolv.conf.
FLT_TITLE="KIND_DNS_SEARCH with a newline (and a nameserver line)"
FLT_STEPS=network_magic
FLT_ENV=($'KIND_DNS_SEARCH=corp.example\nnameserver 203.0.113.66')
FLT_PORT_WARN='WARN: KIND_DNS_SEARCH contains line breaks; writing them as spaces: "search corp.example nameserver 203.0.113.66"'
FLT_PORT_REJECT_LINES="nameserver 203.0.113.66"
FLT_ORIGINAL_STATUS=0
