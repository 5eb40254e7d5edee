#!/usr/bin/env bash
# t-checks.sh: issue #9's case in the lab. A TCP service on port 12345 runs on both nodes; the
# checks file of both nodes says
#   IPaddr::198.51.100.254/24/eth0 tcp 127.0.0.1:12345 interval=500ms timeout=300ms fall=2 rise=2
# (the original ignores the file). a = ours; b = IMPL_B (ours by default; orig = the original).
#   1. the VIP settles on a;
#   2. the service on a is killed: the VIP moves to b within a few seconds, a's eth0 stays up and
#      a's own address still answers the client, the client reaches the service on the VIP (b's);
#   3. the service on a comes back: with auto_failback on the VIP returns to a (ours on b), and
#      sits on exactly one node.
# With the original on b, step 3 is driven by a asking for its group back (hb_takeover local).
set -u
. "$(dirname "$0")/lib.sh"
IMPL_B=${IMPL_B:-ours}
[ -x "$OURS_BIN" ] || skip "our daemon not built ($OURS_BIN)"
P=c$$
P=${P:0:10}
lab_up "$P"
for n in a b; do
  write_config $n auth=crc medium=ucast auto_failback=on
  echo "IPaddr::198.51.100.254/24/eth0 tcp 127.0.0.1:12345 interval=500ms timeout=300ms fall=2 rise=2" \
    >"$LAB_ROOT/$P/$n/etc/checks"
done
# The service: lib.sh's service_start (a listener on 12345 answering "service on NODE"), restartable.
ask_service() { service_ask "$P" "$1"; }
service_start "$P" a
service_start "$P" b
start_node "$P" a ours
start_node "$P" b "$IMPL_B"
out=$(vip_settle "$P" a 30 2) || fail "1. $out"
note "1. VIP on a; client -> VIP: $(ask_service "$VIP")"

t0=$(now_ms)
service_stop "$P" a
note "2. service on a stopped"
out=$(vip_settle "$P" b 10 1) || fail "2. $out"
note "2. VIP on b $(($(now_ms) - t0)) ms after the service on a died"
assert "2. a's eth0 is still up" eval "ip -n $P-a link show eth0 | grep -q 'state UP'"
need_probe
a_answers() { ip netns exec "$P-c" "$PROBE_BIN" ping 198.51.100.1 --for-s 1 | grep -q 'bytes from'; }
assert "2. a's own address answers the client" a_answers
assert_eq "2. client -> VIP:12345" "$(ask_service "$VIP")" "service on b"
assert "2. a logged the check failing" log_has a "check tcp 127.0.0.1:12345 for IPaddr::198.51.100.254/24/eth0: failing"
st=$(node_run "$P" a "$OURS_BIN" -s 2>&1)
note "2. heartbeat -s on a: $(echo "$st" | tr '\n' '|')"
assert "2. heartbeat -s shows the failing check" eval "echo \"\$st\" | grep -q 'failing'"

t0=$(now_ms)
service_start "$P" a
if [ "$IMPL_B" = ours ] || [ "$IMPL_B" = orig ]; then
  out=$(vip_settle "$P" a 20 2) || fail "3. $out"
  note "3. service on a back: VIP on a again $(($(now_ms) - t0)) ms later"
  assert_eq "3. client -> VIP:12345" "$(ask_service "$VIP")" "service on a"
fi
stop_node "$P" a
stop_node "$P" b
note "PASS t-checks (b=$IMPL_B)"
