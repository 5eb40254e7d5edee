#!/usr/bin/env bash
# t-arp-refresh.sh: `GROUP arp-refresh INTERVAL` in /etc/ha.d/checks (issue #15): while a node holds the group,
# it announces the group's address again (gratuitous ARP) every INTERVAL; the node that does not hold it sends
# none. a and b ours, both with `IPaddr::VIP/24/eth0 arp-refresh 3`; tcpdump on the client counts the bursts
# of gratuitous ARPs for the VIP (a burst: 5 request/reply pairs 200 ms apart, as after a partition).
#   1. the VIP on a: in 13 s, 3 to 5 whole bursts, about 3 s apart; every packet from a's MAC, none from b.
#   2. a stops (`heartbeat -k`), the VIP moves to b: in 13 s, 3 to 5 whole bursts; every packet from b's MAC.
#   3. `heartbeat -t` refuses an interval under 1 s, naming the file and line.
set -u
. "$(dirname "$0")/lib.sh"
require_impls ours
command -v tcpdump >/dev/null || skip "tcpdump is needed to count the ARP packets"
P=r$$
P=${P:0:10}
lab_up "$P"
for n in a b; do
  write_config $n auth=crc medium=ucast
  echo "IPaddr::$VIP/24/eth0 arp-refresh 3" >"$LAB_ROOT/$P/$n/etc/checks"
done
mac() { ip -n "$P-$1" link show eth0 | awk '/link\/ether/ { print $2 }'; }
MAC_A=$(mac a)
MAC_B=$(mac b)

# capture SECS: gratuitous ARPs for the VIP seen by the client: "TIME SRCMAC" per packet.
capture() {
  local f=$LAB_ROOT/$P/arp.$RANDOM
  ip netns exec "$P-c" timeout "$1" tcpdump -i eth0 -e -nn -tt -l "arp and host $VIP" >"$f" 2>/dev/null
  awk -v vip="$VIP" '$0 ~ ("tell " vip "|" vip " is-at") { print $1, $2 }' "$f"
}
# bursts: from "TIME MAC" lines, one "TIME MAC" per whole burst (packets less than 1 s apart are one burst;
# a burst the capture cut at its start or end, fewer than 10 packets, is left out).
bursts() {
  awk 'NR > 1 && $1 - last > 1 { if (n >= 10) print t, m; n = 0 }
       n == 0 { t = $1; m = $2 } { n++; last = $1 }
       END { if (n >= 10) print t, m }'
}

start_node "$P" a ours
start_node "$P" b ours
out=$(vip_settle "$P" a 30 4) || fail "1. $out" # 4 s: the IPaddr agent's own ARPs are over
seen=$(capture 13)
b1=$(echo "$seen" | bursts)
note "1. bursts (time source-MAC), a=$MAC_A b=$MAC_B: $(echo "$b1" | tr '\n' ';')"
n=$(echo "$b1" | grep -c . || true)
assert "1. 3 to 5 whole bursts in 13 s (got $n)" eval '[ "$n" -ge 3 ] && [ "$n" -le 5 ]'
assert_eq "1. every packet from a's MAC" "$(echo "$seen" | awk '{ print $2 }' | sort -u)" "$MAC_A"
gaps=$(echo "$b1" | awk 'NR > 1 { printf "%.1f ", $1 - last } { last = $1 }')
note "1. gaps between bursts: $gaps s"
assert "1. bursts about 3 s apart (2.5 to 4 s)" eval "for g in $gaps; do awk -v g=\$g 'BEGIN { exit !(g >= 2.5 && g <= 4) }' || exit 1; done"

stop_node "$P" a
out=$(vip_settle "$P" b 30 4) || fail "2. $out"
seen=$(capture 13)
b2=$(echo "$seen" | bursts)
note "2. a stopped, VIP on b: bursts: $(echo "$b2" | tr '\n' ';')"
n=$(echo "$b2" | grep -c . || true)
assert "2. 3 to 5 whole bursts in 13 s (got $n)" eval '[ "$n" -ge 3 ] && [ "$n" -le 5 ]'
assert_eq "2. every packet from b's MAC" "$(echo "$seen" | awk '{ print $2 }' | sort -u)" "$MAC_B"
stop_node "$P" b

echo "IPaddr::$VIP/24/eth0 arp-refresh 500ms" >"$LAB_ROOT/$P/a/etc/checks"
rc=0
t=$(node_run "$P" a "$OURS_BIN" -t 2>&1) || rc=$?
note "3. heartbeat -t: $(echo "$t" | grep checks: | tr '\n' ' ') (exit $rc)"
assert_eq "3. heartbeat -t refuses it" "$rc" 6
assert "3. naming the file and line" eval "echo \"\$t\" | grep -q 'checks:1: arp-refresh interval .500ms. is shorter than 1 s'"
note "PASS t-arp-refresh"
