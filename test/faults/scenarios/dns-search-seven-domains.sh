# shellcheck shell=bash disable=SC2034,SC2016
FLT_TITLE="KIND_DNS_SEARCH with 7 domains"
FLT_STEPS=network_magic
FLT_ENV=('KIND_DNS_SEARCH=a.example b.example c.example d.example e.example f.example g.example')
FLT_PORT_EXPECT_LINES='search a.example b.example c.example d.example e.example f.example g.example'
FLT_ORIGINAL_STATUS=0
