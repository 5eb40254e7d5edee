#!/usr/bin/env bash
# t-frozen.sh: the VIP holder's daemon frozen (SIGSTOP of every process of its tree) for FREEZE_S (3) seconds,
# longer than the dead time, then woken (SIGCONT) (issue #12, "a frozen node knows it was frozen"). One lab per
# pair in PAIRS (a/b, a is the holder that freezes; default "ours/ours orig/orig ours/orig orig/ours"), all in
# parallel. Each lab: haresources `a IPaddr::198.51.100.254/24/eth0`, auto_failback on, keepalive 200ms, deadtime 1;
#   1. both start, the VIP settles on a;
#   2. a's daemon is stopped for FREEZE_S s (its kernel still holds the VIP and answers ARP for it), then continued;
#   3. OBSERVE_S (15) s more.
# Every change of the VIP is recorded (vip_watch_start in lib.sh); per pair the test prints the total and longest
# time with two holders and with none, and who holds the VIP at the end.
#
# Asserted when a runs ours: on waking it logs that its timers overran and never declares b dead (it reads b's
# heartbeats waiting in its socket before judging anyone, and gives b a dead time of grace), and it does not
# restart. For ours/ours besides: b declared a dead, and did not take the VIP because a still answered for it
# (logged once); two holders never longer than TWO_MAX_MS (300), no holder never longer than NONE_MAX_MS (1000),
# the VIP on a at the end. For orig/ours: ours (b) never takes the VIP while the frozen original answers for it.
# orig/orig and ours/orig are measured (the original peer takes the VIP during the freeze: it has no probe).
#
# Run as root (about 45 s):
#   bash compat-tests/t-frozen.sh
#   PAIRS=ours/ours FREEZE_S=5 bash compat-tests/t-frozen.sh
# Other environment: OBSERVE_S, TWO_MAX_MS, NONE_MAX_MS, OURS_BIN, LAB_KEEP=1 (see README.md).
# shellcheck disable=SC2086 # lists of pids and the fields of a result line are meant to be split
set -u
. "$(dirname "$0")/lib.sh"

PAIRS=${PAIRS:-ours/ours orig/orig ours/orig orig/ours}
FREEZE_S=${FREEZE_S:-3}
OBSERVE_S=${OBSERVE_S:-15}
TWO_MAX_MS=${TWO_MAX_MS:-300}
NONE_MAX_MS=${NONE_MAX_MS:-1000}

for pair in $PAIRS; do
  case $pair in
  orig/orig) ;;
  ours/ours | ours/orig | orig/ours) [ -x "$OURS_BIN" ] || skip "our daemon not built ($OURS_BIN)" ;;
  *) fail "PAIRS: '$pair' is not a/b of orig and ours" ;;
  esac
done
[ -e /etc/ha.d/resource.d/IPaddr ] || fail "setup: /etc/ha.d/resource.d/IPaddr missing (apt-get install -y heartbeat)"

# one_lab PAIR PREFIX: the whole scenario in its own lab; its last line is "RESULT pair two long2 none long0
# changes final".
one_lab() {
  local pair=$1 ia=${1%/*} ib=${1#*/} t_start t_stop t_cont t_end r pids gen_a
  P=$2
  lab_up "$P"
  for n in a b; do write_config "$n" auth=crc medium=ucast auto_failback=on; done
  start_node "$P" a "$ia"
  start_node "$P" b "$ib"
  t_start=$(now_ms)
  vip_settle "$P" a 30 2 >"$LAB_ROOT/$P/settle.msg" || fail "$pair: $(cat "$LAB_ROOT/$P/settle.msg")"
  while [ $(($(now_ms) - t_start)) -lt 9000 ]; do sleep 0.2; done
  gen_a=$(generation "$P" a)
  vip_watch_start "$P"
  pids=$(node_procs "$P" a)
  [ -n "$pids" ] || fail "$pair: no daemon on a"
  note "$pair: VIP on a; stopping a's daemon ($(echo $pids | wc -w) processes) for $FREEZE_S s"
  t_stop=$(now_ms)
  kill -STOP $pids
  sleep "$FREEZE_S"
  kill -CONT $pids
  t_cont=$(now_ms)
  note "$pair: a's daemon continued after $((t_cont - t_stop)) ms"
  sleep "$OBSERVE_S"
  t_end=$(now_ms)
  r=$(vip_watch_times "$P" "$t_stop" "$t_end")
  note "$pair: $(echo "$r" | awk '{ printf "two holders %d ms (longest %d), no holder %d ms (longest %d), %d changes, at the end %s", $1, $2, $3, $4, $5, $6 }')"
  note "$pair: while frozen: $(vip_watch_times "$P" "$t_stop" "$t_cont" | awk '{ printf "two holders %d ms, no holder %d ms", $1, $3 }'); after: $(vip_watch_times "$P" "$t_cont" "$t_end" | awk '{ printf "two holders %d ms, no holder %d ms", $1, $3 }')"
  LAB_P=$P
  if [ "$ia" = ours ]; then
    log_has a "Our timers ran" || fail "$pair: a did not notice that its timers overran"
    ! log_has a "node b: is dead" || fail "$pair: a declared b dead after waking (stale timers)"
    [ "$(generation "$P" a)" = "$gen_a" ] || fail "$pair: a restarted"
  fi
  set -- $r
  case $pair in
  ours/ours)
    [ "$2" -le "$TWO_MAX_MS" ] || fail "$pair: two holders for $2 ms in a row (goal <= $TWO_MAX_MS)"
    [ "$4" -le "$NONE_MAX_MS" ] || fail "$pair: no holder for $4 ms in a row (goal <= $NONE_MAX_MS)"
    [ "$6" = a ] || fail "$pair: the VIP is on '$6' at the end, not on a"
    log_has b "node a: is dead" || fail "$pair: b never declared the frozen a dead"
    [ "$(log_count b 'Not taking resource group')" = 1 ] ||
      fail "$pair: b logged 'Not taking resource group' $(log_count b 'Not taking resource group') times (once expected)"
    ;;
  orig/ours)
    [ "$2" -le "$TWO_MAX_MS" ] || fail "$pair: two holders for $2 ms in a row: ours took the frozen original's VIP"
    log_has b "Not taking resource group" || fail "$pair: ours (b) did not log that the VIP still answers"
    case $6 in a | b) ;; *) fail "$pair: the VIP is on '$6' at the end" ;; esac
    ;;
  ours/orig)
    case $6 in a | b) ;; *) fail "$pair: the VIP is on '$6' at the end" ;; esac
    ;;
  esac
  echo "RESULT $pair $r"
}

note "pairs [$PAIRS], a frozen $FREEZE_S s, observed $OBSERVE_S s after (our daemon: $OURS_BIN)"
status=0
vip_pairs_run "f$$" "a's daemon stopped $FREEZE_S s, from the stop to $OBSERVE_S s after it continued" || status=1
if [ "$status" != 0 ]; then
  LAB_FAILED=1
  echo "FAIL: t-frozen; see the messages above" >&2
  exit 1
fi
note "PASS t-frozen"
