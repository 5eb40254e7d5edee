#!/usr/bin/env bash
# t-ipfail.sh: ping node + respawned ipfail. ha.cf of both nodes adds
#   ping 198.51.100.100          (the lab client)
#   respawn hacluster IPFAIL     (default: the original's /usr/libexec/heartbeat/ipfail)
#   apiauth ipfail gid=haclient uid=hacluster
# a runs IMPL_A (ours by default), b runs IMPL_B (the original by default). Checks: the ping node
# is in the node list with type ping and status ping; ipfail runs as hacluster, started by the
# daemon; cutting a's service link at the switch (heartbeat link up) moves the VIP to b, and the
# time it took is printed (the original needs about 3 s in this lab).
set -u
. "$(dirname "$0")/lib.sh"
IMPL_A=${IMPL_A:-ours}
IMPL_B=${IMPL_B:-orig}
IPFAIL=${IPFAIL:-/usr/libexec/heartbeat/ipfail}
[ -x "$OURS_BIN" ] || skip "our daemon not built ($OURS_BIN)"
[ -x "$IPFAIL" ] || skip "no ipfail at $IPFAIL"
P=i$$
P=${P:0:10}
lab_up "$P"
for n in a b; do
  write_config $n auth=crc medium=ucast auto_failback=on extra="ping 198.51.100.100
respawn hacluster $IPFAIL
apiauth ipfail gid=haclient uid=hacluster"
done
start_node "$P" a "$IMPL_A"
start_node "$P" b "$IMPL_B"
out=$(vip_settle "$P" a 30 2) || fail "$out"
assert_eq "a lists the ping node" "$(node_run "$P" a /usr/bin/cl_status listnodes | sort | tr '\n' ' ')" "198.51.100.100 a b "
assert_eq "its type" "$(node_run "$P" a /usr/bin/cl_status nodetype 198.51.100.100)" ping
assert_eq "its status" "$(node_run "$P" a /usr/bin/cl_status nodestatus 198.51.100.100)" ping
ipf_user() {
  local pid
  for pid in $(ip netns pids "$P-a"); do
    if [ "$(cat /proc/$pid/comm 2>/dev/null)" = ipfail ]; then ps -o user= -p "$pid"; return 0; fi
  done
  return 1
}
assert "ipfail runs on a" wait_for 10 ipf_user
assert_eq "ipfail's user" "$(ipf_user)" hacluster
assert "ipfail signed on at a" wait_for 10 eval "node_run $P a /usr/bin/cl_status clientstatus a ipfail >/dev/null"
sleep 2
t0=$(now_ms)
ip -n "$P-sw" link set port-a down
note "a's service link cut at the switch (its heartbeat link is up)"
out=$(vip_settle "$P" b 20 1) || fail "ipfail did not move the VIP: $out"
note "VIP on b $(($(now_ms) - t0)) ms after the cut (a=$IMPL_A, b=$IMPL_B, ipfail $IPFAIL)"
assert "a declared the ping node dead" log_has a "node 198.51.100.100: is dead"
stop_node "$P" a
stop_node "$P" b
note "PASS t-ipfail"
