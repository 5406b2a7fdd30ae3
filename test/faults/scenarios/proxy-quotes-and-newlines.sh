# shellcheck shell=bash disable=SC2034,SC2016
# A quote and a line break in proxy values. What systemd reads from the drop-in is checked with
# a strict reader of systemd's syntax (test/faults/systemd_conf.ts): kind's file sets LD_PRELOAD
# for every service.
FLT_TITLE="proxy variables with quotes and a newline"
FLT_STEPS=proxy
FLT_ENV=(
  'HTTP_PROXY=http://user:pa"ss@proxy.example:3128'
  $'NO_PROXY=localhost"\nDefaultEnvironment="LD_PRELOAD=/kind/evil.so'
)
fault_report() {
  section "DefaultEnvironment as systemd reads it"
  "$DENO" run --quiet --allow-read "${FAULTS_DIR}/systemd_conf.ts" \
    /etc/systemd/system.conf.d/proxy-default-environment.conf 2>&1
}
FLT_PORT_EXPECT_LINES='env "HTTP_PROXY=http://user:pa\"ss@proxy.example:3128"
env "HTTPS_PROXY="
env "NO_PROXY=localhost\"\nDefaultEnvironment=\"LD_PRELOAD=/kind/evil.so"
setting Manager.DefaultEnvironment'
FLT_PORT_REJECT_LINES='env "LD_PRELOAD=/kind/evil.so"'
FLT_ORIGINAL_STATUS=0
