# shellcheck shell=bash disable=SC2034,SC2016
# A dump that parses but has lost Docker's rules (a broken iptables-save, or the wrong backend):
# kind restores it as it is, which flushes Docker's DNS rules from the nat table. The port
# rewrites only what it finds, and finds Docker's chains in the other backend.
FLT_TITLE="iptables-save prints a nat table without the Docker rules"
FLT_STEPS=network_magic
fault_setup() {
  wrap iptables-save garbage $'*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n'
}
fault_report() {
  section "Docker DNS rules in the nat table after the run"
  /usr/sbin/xtables-nft-multi iptables-save -t nat 2>/dev/null | grep -c -- '-j DNAT --to-destination 127.0.0.11:' || true
}
FLT_PORT_EXPECT_LINES=$'## Docker DNS rules in the nat table after the run\n2\n> -A DOCKER_OUTPUT -d 172.30.0.1/32 -p udp -m udp --dport 53 -j DNAT --to-destination 127.0.0.11:45927'
FLT_ORIGINAL_STATUS=0
FLT_ORIGINAL_EXPECT_LINES=$'## Docker DNS rules in the nat table after the run\n0'
