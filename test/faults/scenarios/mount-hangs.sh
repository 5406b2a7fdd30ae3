# shellcheck shell=bash disable=SC2034,SC2016
# mount(8) hangs (as on a stuck NFS mount). The port may mount through mount(2) instead of the
# program; then the wrapper is never run and the step passes.
FLT_TITLE="mount hangs"
FLT_STEPS=mount
fault_setup() { wrap mount hang; }
FLT_ORIGINAL_STATUS=hung
