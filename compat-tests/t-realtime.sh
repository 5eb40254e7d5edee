#!/usr/bin/env bash
# t-realtime.sh: `realtime` and `rtprio` (issue #12). a = IMPL_A (ours), b = IMPL_B (the original),
# both with `rtprio 7`, a respawned client (`respawn hacluster /bin/sleep 600`) and a resource group
# of their own running a probe script (resource.d/SchedProbe records the scheduling of its `start`).
#   1. each daemon's master runs SCHED_RR (or FIFO) at priority 7 (`chrt -p`);
#   2. the resource script it spawned ran SCHED_OTHER;
#   3. its respawned client runs SCHED_OTHER;
#   4. ours logged the outcome of locking its memory (locked, or the reason it runs on unlocked);
#      `heartbeat -t` no longer lists realtime/rtprio as "not acted on".
# The same checks on the original's node show that they test what 2.0.8 does.
set -u
. "$(dirname "$0")/lib.sh"
IMPL_A=${IMPL_A:-ours}
IMPL_B=${IMPL_B:-orig}
case "$IMPL_A$IMPL_B" in *ours*) [ -x "$OURS_BIN" ] || skip "our daemon not built ($OURS_BIN)" ;; esac
command -v chrt >/dev/null || fail "setup: chrt (util-linux) not found"
RTPRIO=7
P=r$$
P=${P:0:10}
lab_up "$P"
for n in a b; do
  write_config $n auto_failback=on initdead=2 resources="a SchedProbe::a
b SchedProbe::b" extra="rtprio $RTPRIO
respawn hacluster /bin/sleep 600"
  cat >"$LAB_ROOT/$P/$n/etc/resource.d/SchedProbe" <<'EOF'
#!/bin/sh
# SchedProbe TAG {start|stop|status}: records the scheduling of its start.
f=/var/lib/heartbeat/schedprobe.$1
case "$2" in
start) chrt -p $$ >"$f.tmp" 2>&1; mv "$f.tmp" "$f.start"; : >"$f.running" ;;
stop) rm -f "$f.running" ;;
status) if [ -e "$f.running" ]; then echo running; else echo stopped; fi ;;
esac
exit 0
EOF
  chmod 755 "$LAB_ROOT/$P/$n/etc/resource.d/SchedProbe"
done
start_node "$P" a "$IMPL_A"
start_node "$P" b "$IMPL_B"

# policy_of PID: "SCHED_X PRIO" from chrt -p.
policy_of() {
  chrt -p "$1" 2>/dev/null | awk -F': ' '/policy/ { p = $2 } /priority/ { q = $2 } END { print p, q }'
}
# client_pid P NODE: the respawned sleep below NODE's daemon.
client_pid() {
  local p
  for p in $(node_procs "$P" "$1"); do
    if [ "$(cat /proc/$p/comm 2>/dev/null)" = sleep ]; then echo "$p"; return 0; fi
  done
  return 1
}
for n in a b; do
  impl=$(impl_of_node "$P" $n)
  f=$LAB_ROOT/$P/$n/lib/schedprobe.$n.start
  wait_for 40 test -s "$f" || fail "2. $n ($impl) never started its SchedProbe group"
  pid=$(node_pid "$P" $n) || fail "1. $n ($impl) has no daemon"
  pol=$(policy_of "$pid")
  note "$n ($impl): master $pid: $pol"
  case $pol in
  "SCHED_RR $RTPRIO" | "SCHED_FIFO $RTPRIO" | "SCHED_RR|SCHED_RESET_ON_FORK $RTPRIO") ;;
  *) fail "1. $n ($impl): master runs '$pol', expected SCHED_RR $RTPRIO" ;;
  esac
  script=$(awk -F': ' '/policy/ { p = $2 } /priority/ { q = $2 } END { print p, q }' "$f")
  note "$n ($impl): its resource script ran: $script"
  assert_eq "2. $n ($impl): resource script's scheduling" "$script" "SCHED_OTHER 0"
  wait_for 10 client_pid $n >/dev/null || fail "3. $n ($impl): no respawned client found"
  cpid=$(client_pid $n)
  cpol=$(policy_of "$cpid")
  note "$n ($impl): respawned client $cpid: $cpol"
  assert_eq "3. $n ($impl): respawned client's scheduling" "$cpol" "SCHED_OTHER 0"
  if [ "$impl" = ours ]; then
    line=$(grep -E "locked in memory|Cannot lock ourselves|Unable to lock" "$(log_file $n)" | tail -1)
    [ -n "$line" ] || fail "4. $n: no line about locking its memory"
    note "$n: ${line#*: }"
    grep -q VmLck "/proc/$pid/status" && note "$n: $(grep VmLck /proc/$pid/status | tr -s '\t ' ' '), $(grep VmRSS /proc/$pid/status | tr -s '\t ' ' ')"
    t=$(node_run "$P" $n "$OURS_BIN" -t 2>&1)
    if echo "$t" | grep -E "(realtime|rtprio).*not acted on" >/dev/null; then
      fail "4. heartbeat -t still calls realtime/rtprio not acted on: $t"
    fi
  fi
done
for n in a b; do stop_node "$P" $n; done
note "PASS"
