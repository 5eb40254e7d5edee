#!/usr/bin/env bash
# t-checks.sh: issue #9's case in the lab. A TCP service on port 12345 runs on both nodes; the
# checks file of both nodes says
#   IPaddr::198.51.100.254/24/eth0 tcp 127.0.0.1:12345 interval=500ms timeout=300ms fall=2 rise=2
# (the original ignores the file). a = ours; b = IMPL_B (ours by default; orig = the original).
# a has two groups: the checked VIP .254 and a second address .253 without a check.
#   1. both groups settle on a;
#   2. the service on a is killed: the VIP moves to b within a few seconds, the other group stays
#      on a all along (a failing check moves only its group; issue #16), a's eth0 stays up and
#      a's own address still answers the client, the client reaches the service on the VIP (b's);
#   3. the service on a comes back: with auto_failback on the VIP returns to a and sits on
#      exactly one node; the other group never moved.
# The group moves alone: a releases it and sends ip-request-resp dest=b, and asks for it back with
# ip-request; an original peer answers both with its rc.d scripts (ResourceManager takegroup /
# givegroup of that one group).
set -u
. "$(dirname "$0")/lib.sh"
IMPL_B=${IMPL_B:-ours}
[ -x "$OURS_BIN" ] || skip "our daemon not built ($OURS_BIN)"
P=c$$
P=${P:0:10}
lab_up "$P"
OTHER=198.51.100.253
for n in a b; do
  write_config $n auth=crc medium=ucast auto_failback=on \
    resources="$(printf 'a IPaddr::%s/24/eth0\na IPaddr::%s/24/eth0' "$VIP" "$OTHER")"
  echo "IPaddr::198.51.100.254/24/eth0 tcp 127.0.0.1:12345 interval=500ms timeout=300ms fall=2 rise=2" \
    >"$LAB_ROOT/$P/$n/etc/checks"
done
# The service: lib.sh's service_start (a listener on 12345 answering "service on NODE"), restartable.
ask_service() { service_ask "$P" "$1"; }
# other_holder: which node has the second group's address (a, b, none or both).
other_holder() {
  local n h=
  for n in a b; do
    if ip -n "$P-$n" -4 addr show dev eth0 2>/dev/null | grep -q " $OTHER/"; then h="$h$n"; fi
  done
  case $h in "") echo none ;; ab) echo both ;; *) echo "$h" ;; esac
}
# other_watch_start / other_watch_check: record the second group's holder every 0.1 s, then
# require that it was a at every look.
other_watch_start() {
  (while :; do other_holder; sleep 0.1; done) >"$LAB_ROOT/$P/other.watch" 2>/dev/null &
  OTHER_WATCH=$!
  lab_bg $OTHER_WATCH
}
other_watch_check() {
  kill "$OTHER_WATCH" 2>/dev/null
  wait "$OTHER_WATCH" 2>/dev/null
  local seen
  seen=$(sort -u "$LAB_ROOT/$P/other.watch" | tr '\n' ' ')
  [ "$seen" = "a " ] || { echo "the other group was seen on: $seen"; return 1; }
}
service_start "$P" a
service_start "$P" b
start_node "$P" a ours
start_node "$P" b "$IMPL_B"
out=$(vip_settle "$P" a 30 2) || fail "1. $out"
assert "1. the other group is on a" wait_for 10 eval "[ \"\$(other_holder)\" = a ]"
note "1. VIP and the other group on a; client -> VIP: $(ask_service "$VIP")"
other_watch_start

t0=$(now_ms)
service_stop "$P" a
note "2. service on a stopped"
out=$(vip_settle "$P" b 10 1) || fail "2. $out"
note "2. VIP on b $(($(now_ms) - t0)) ms after the service on a died"
assert_eq "2. the other group stays on a" "$(other_holder)" a
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
out=$(other_watch_check) || fail "2-3. a failing check moves only its group: $out"
note "2-3. the other group stayed on a all along"
stop_node "$P" a
stop_node "$P" b
note "PASS t-checks (b=$IMPL_B)"
