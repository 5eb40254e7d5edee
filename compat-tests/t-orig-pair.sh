#!/usr/bin/env bash
# t-orig-pair.sh: two original heartbeat nodes (crc, ucast) in a lab. This test proves the harness itself:
#   - both nodes see each other active through cl_status;
#   - the VIP ends up on exactly one node, a (its haresources owner);
#   - a crashes (links down + SIGKILL): b takes the VIP within deadtime + a few seconds, and the client's lost
#     ping window is measured and printed;
#   - a comes back: it rejoins and, with auto_failback on, gets the VIP back;
#   - clean stops (heartbeat -k) of b then a leave nobody holding the VIP.
# Run as root: bash compat-tests/t-orig-pair.sh   (about 45 s)
set -u
. "$(dirname "$0")/lib.sh"

P=o$$
P=${P:0:10}
lab_up "$P"
note "lab $P under $LAB_ROOT"

write_config a auth=crc medium=ucast auto_failback=on
write_config b auth=crc medium=ucast auto_failback=on

start_node "$P" a orig
start_node "$P" b orig
t_start=$(now_ms)
note "both original daemons started"

# Membership: each side reports the other active (communication is up within about 2 s with initdead 2).
sees_active() { [ "$(node_status_from "$P" "$1" "$2")" = active ]; }
assert "a reports b active (cl_status nodestatus b on a)" wait_for 10 sees_active a b
assert "b reports a active (cl_status nodestatus a on b)" wait_for 10 sees_active b a
assert_eq "a's own status" "$(node_status_from "$P" a a)" active
note "a and b see each other active"

# Resources: both start together, so the 10 s resource timer runs before a takes its group.
vip_on() { [ "$(vip_holder "$P")" = "$1" ]; }
assert "the VIP lands on a" wait_for 20 vip_on a
sleep 1
assert_eq "VIP holder after 1 s more" "$(vip_holder "$P")" a
note "VIP on a, $(($(now_ms) - t_start)) ms after start"

# The announced dead time drops to deadtime 5 s after start; be past that before crashing (LAB.md).
while [ $(($(now_ms) - t_start)) -lt 8000 ]; do sleep 0.2; done

client_ping_start "$P"
client_answered() { grep -q 'bytes from' "$LAB_ROOT/$P/ping.out"; }
assert "the client gets ping replies from the VIP" wait_for 3 client_answered
sleep 0.5

dead_before=$(log_count b 'node a: is dead')
t_crash=$(now_ms)
crash_node "$P" a
note "a crashed"
assert "b takes the VIP within deadtime + 4 s" wait_for 5 vip_on b
t_vip=$(now_ms)
note "VIP on b $((t_vip - t_crash)) ms after the crash"
assert "b logs 'node a: is dead'" log_count_above b 'node a: is dead' "$dead_before"
assert_eq "b's view of a through cl_status" "$(node_status_from "$P" b a)" dead

# Let the client see the VIP again, then read the window off the pinger.
replies_now=$(grep -c 'bytes from' "$LAB_ROOT/$P/ping.out")
more_replies() { [ "$(grep -c 'bytes from' "$LAB_ROOT/$P/ping.out")" -gt $((replies_now + 5)) ]; }
assert "the client gets replies from the VIP on b" wait_for 5 more_replies
window=$(client_ping_window "$P") || fail "no ping window measured: $window"
note "client lost-reply window during the failover: $window"
window_ms=${window%% *}
[ "$window_ms" -lt 6000 ] || fail "failover window $window_ms ms is not within deadtime + 5 s"

# a comes back: it rejoins (b logs its restart) and gets the VIP back (auto_failback on).
gen_before=$(generation "$P" a)
revive_node "$P" a
start_node "$P" a orig
note "a restarted"
assert "b logs a's restart" wait_for 10 log_has b 'Heartbeat restart on node a'
assert "b reports a active again" wait_for 10 sees_active b a
gen_after=$(generation "$P" a)
[ "$gen_after" -gt "$gen_before" ] || fail "a's hb_generation did not grow ($gen_before -> $gen_after)"
assert "the VIP fails back to a" wait_for 20 vip_on a
note "a rejoined (generation $gen_before -> $gen_after) and holds the VIP again"

# Clean stops.
stop_node "$P" b
assert "a logs b's shutdown" wait_for 10 log_has a "Received shutdown notice from 'b'"
assert_eq "VIP holder after b stopped" "$(vip_holder "$P")" a
stop_node "$P" a
assert_eq "VIP holder after both stopped" "$(vip_holder "$P")" none
assert "a logs its shutdown complete" log_has a 'Heartbeat shutdown complete'
note "PASS t-orig-pair: failover window $window"
