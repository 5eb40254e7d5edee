#!/usr/bin/env bash
# bench-realtime.sh: heartbeats on a saturated machine (issue #12, `realtime on`). Two-node clusters, each in its own
# lab, all running at the same time: by default one of the original (a=orig b=orig) and one of ours (a=ours b=ours);
# PAIRS="orig/ours" gives one mixed lab. keepalive 50ms, warntime 150ms, deadtime 250ms, initdead 2, ucast, crc, no
# resources.
#
# After SETTLE seconds (default 12: past the 5 s in which a node announces a longer dead time), HOGS ordinary busy
# loops (SCHED_OTHER, default 2 x the number of CPUs) start in each node's namespace, so that every CPU of the
# machine is saturated from both nodes, for D seconds (default 300, the 5 minutes of the issue); HOG_NICE (default 0)
# is their nice value (-20: ordinary processes of the highest weight). Then, per daemon,
# from its log over the load interval: the late heartbeats it logged (`Late heartbeat`, with the longest interval),
# and the nodes it declared dead (`is dead`). Ours must declare no node dead.
# REALTIME=off writes `realtime off` in every ha.cf, to see what the real-time scheduling saves.
# A benchmark: status 1 only when the setup fails.
#
# Run as root:
#   bash compat-tests/bench-realtime.sh                     # 5 minutes
#   D=30 bash compat-tests/bench-realtime.sh                # a quick look
#   D=60 REALTIME=off PAIRS="orig/orig ours/ours" bash compat-tests/bench-realtime.sh
# shellcheck disable=SC2034 # LAB_P is read by lib.sh
set -u
. "$(dirname "$0")/lib.sh"

D=${D:-300}
SETTLE=${SETTLE:-12}
PAIRS=${PAIRS:-orig/orig ours/ours}
REALTIME=${REALTIME:-on}
NCPU=$(nproc)
HOGS=${HOGS:-$((2 * NCPU))}
HOG_NICE=${HOG_NICE:-0}
case $D in '' | *[!0-9]* | 0) fail "D must be a positive number of seconds, not '$D'" ;; esac
case $HOGS in '' | *[!0-9]*) fail "HOGS must be a number, not '$HOGS'" ;; esac
case $REALTIME in on | off) ;; *) fail "REALTIME must be on or off" ;; esac
case $HOG_NICE in -[0-9] | -1[0-9] | -20 | [0-9] | 1[0-9]) ;; *) fail "HOG_NICE must be -20..19, not '$HOG_NICE'" ;; esac
for pair in $PAIRS; do
  case $pair in
  orig/orig | orig/ours | ours/orig | ours/ours) ;;
  *) fail "PAIRS: '$pair' is not IMPL_A/IMPL_B with orig or ours" ;;
  esac
  case $pair in
  *ours*) [ -x "$OURS_BIN" ] || fail "setup: our daemon not built ($OURS_BIN); PAIRS=orig/orig measures the original only" ;;
  esac
done

declare -A IMPL=() LINES0=()
labs=''
i=0
for pair in $PAIRS; do
  i=$((i + 1))
  P=t$$
  P=${P:0:8}$i
  lab_up "$P"
  labs="$labs $P"
  for n in a b; do
    write_config "$n" auth=crc medium=ucast keepalive=50ms warntime=150ms deadtime=250ms initdead=2 \
      resources="" extra="realtime $REALTIME"
  done
  IMPL[$P/a]=${pair%/*} IMPL[$P/b]=${pair#*/}
  start_node "$P" a "${IMPL[$P/a]}"
  start_node "$P" b "${IMPL[$P/b]}"
  note "lab $P: a=${IMPL[$P/a]} b=${IMPL[$P/b]} started (realtime $REALTIME)"
done
t_started=$(now_ms)
# shellcheck disable=SC2086 # a list of labs
labs_settle "$SETTLE" "$t_started" $labs
for P in $labs; do
  for n in a b; do
    LAB_P=$P
    LINES0[$P/$n]=$(wc -l <"$(log_file $n)")
    pid=$(node_pid "$P" $n) || fail "lab $P: $n's daemon is gone before the load"
    note "lab $P: $n (${IMPL[$P/$n]}) pid $pid: $(chrt -p "$pid" | awk -F': ' '/policy/ { p = $2 } /priority/ { q = $2 } END { print p, q }')"
  done
done

note "load: $HOGS busy loops (nice $HOG_NICE) in each node's namespace ($NCPU CPUs), for $D s"
for P in $labs; do
  for n in a b; do
    for _ in $(seq "$HOGS"); do
      ip netns exec "$P-$n" nice -n "$HOG_NICE" timeout "$((D + 5))" sh -c 'while :; do :; done' &
      lab_bg $!
      disown $!
    done
  done
done
t_load=$(now_ms)
sleep "$D"
note "load over after $((($(now_ms) - t_load) / 1000)) s"
# shellcheck disable=SC2086 # a list of pids
kill_tree KILL $LAB_BG_PIDS
LAB_BG_PIDS=
sleep 1

echo
printf '%-10s %-4s %-5s %8s %14s %6s\n' lab node impl late longest_ms deaths
ours_deaths=0
for P in $labs; do
  LAB_P=$P
  for n in a b; do
    f=$(log_file $n)
    part=$(tail -n +"$((LINES0[$P/$n] + 1))" "$f")
    late=$(echo "$part" | grep -c 'Late heartbeat')
    longest=$(echo "$part" | sed -n 's/.*Late heartbeat: Node [^:]*: interval \([0-9]*\) ms.*/\1/p' | sort -n | tail -1)
    deaths=$(echo "$part" | grep -c ': is dead')
    node_pid "$P" $n >/dev/null || deaths="$deaths (daemon gone)"
    printf '%-10s %-4s %-5s %8s %14s %6s\n' "$P" "$n" "${IMPL[$P/$n]}" "$late" "${longest:--}" "$deaths"
    if [ "${IMPL[$P/$n]}" = ours ]; then ours_deaths=$((ours_deaths + ${deaths%% *})); fi
  done
done
echo
case " $PAIRS " in
*ours*)
  if [ "$ours_deaths" = 0 ]; then
    echo "RESULT: no node declared dead by our daemons over $D s of saturated CPUs (realtime $REALTIME)"
  else
    echo "RESULT: our daemons declared $ours_deaths node death(s) over $D s of saturated CPUs (realtime $REALTIME)"
  fi
  ;;
esac
for P in $labs; do for n in a b; do stop_node "$P" $n; done; done
