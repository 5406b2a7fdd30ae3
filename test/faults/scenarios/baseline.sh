# shellcheck shell=bash disable=SC2034,SC2016
# Control: no fault. Every step runs and init is started.
FLT_TITLE="no fault (control)"
FLT_ORIGINAL_STATUS=0
