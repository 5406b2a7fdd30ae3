# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="KIND_DNS_SEARCH of 300 characters"
FLT_STEPS=network_magic
FLT_ENV=("KIND_DNS_SEARCH=$(printf 'd%02d-abcdefghijklmnopqrstu.example ' $(seq 1 10) | cut -c1-300)")
FLT_PORT_EXPECT_LINES="search $(printf 'd%02d-abcdefghijklmnopqrstu.example ' $(seq 1 10) | cut -c1-300)"
FLT_ORIGINAL_STATUS=0
