# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE='KIND_DNS_SEARCH with a slash, an ampersand and a backslash (a/b.example & c\d.example)'
FLT_STEPS=network_magic
FLT_ENV=('KIND_DNS_SEARCH=a/b.example & c\d.example')
FLT_PORT_EXPECT_LINES='search a/b.example & c\d.example'
FLT_ORIGINAL_STATUS=0
