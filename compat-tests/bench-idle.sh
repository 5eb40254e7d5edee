#!/usr/bin/env bash
# bench-idle.sh: what an idle cluster costs (issue #3). Two-node clusters, each in its own lab, all running at the
# same time: by default one of the original (a=orig b=orig) and one of ours (a=ours b=ours); PAIRS=orig/ours gives
# one mixed lab. Configuration as in the other tests: keepalive 200ms, deadtime 1, ucast, crc, auto_failback on,
# haresources `a IPaddr::198.51.100.254/24/eth0`.
#
# After the start the clusters settle (both nodes active, the VIP placed, SETTLE seconds, default 14, past the
# 10 s resource wait of a simultaneous start), then stay idle for S seconds (default 20). For every daemon it prints:
#   - CPU time over the interval: utime+stime of the daemon's master and every process below it (from
#     /proc/PID/stat, plus cutime+cstime for children that exited and were reaped meanwhile), in ms and as % of one
#     core over the measured wall time;
#   - sched_ms: the same from /proc/PID/task/*/schedstat (nanosecond resolution; live processes only), because
#     the ticks of /proc/PID/stat are 10 ms and an idle daemon uses only a few of them in 20 s;
#   - RSS at the end: VmRSS summed over those processes, KiB (pages shared between them, e.g. the libraries of
#     the original's six processes, counted in each), and PSS (/proc/PID/smaps_rollup: shared pages divided
#     among the processes that map them, so closer to what the daemon really adds to the machine);
#   - the number of processes at the start and the end of the interval.
# A benchmark: no pass/fail, except setup failures (status 1).
#
# Run as root (about 40 s):
#   bash compat-tests/bench-idle.sh
#   S=60 bash compat-tests/bench-idle.sh;  PAIRS="orig/ours" bash compat-tests/bench-idle.sh   # mixed
#   PAIRS="orig/orig" ...  (only the original)
set -u
. "$(dirname "$0")/lib.sh"

S=${S:-20}
SETTLE=${SETTLE:-14}
PAIRS=${PAIRS:-orig/orig ours/ours}
case $S in '' | *[!0-9]* | 0) fail "S must be a positive number of seconds, not '$S'" ;; esac
case $SETTLE in '' | *[!0-9]*) fail "SETTLE must be a number of seconds, not '$SETTLE'" ;; esac
TCK=$(getconf CLK_TCK) || fail "setup: getconf CLK_TCK"
for pair in $PAIRS; do
  case $pair in
  orig/orig | orig/ours | ours/orig | ours/ours) ;;
  *) fail "PAIRS: '$pair' is not IMPL_A/IMPL_B with orig or ours" ;;
  esac
  case $pair in
  *ours*) [ -x "$OURS_BIN" ] || fail "setup: our daemon not built ($OURS_BIN); PAIRS=orig/orig measures the original only" ;;
  esac
done

# Start every lab.
declare -A IMPL=() T0=() T1=() CPU0=() CPU1=() SCH0=() SCH1=() NPROC0=() NPROC1=() RSS=() PSS=() MASTER=()
labs=''
i=0
for pair in $PAIRS; do
  i=$((i + 1))
  P=i$$
  P=${P:0:8}$i
  lab_up "$P"
  labs="$labs $P"
  for n in a b; do write_config "$n" auth=crc medium=ucast auto_failback=on; done
  IMPL[$P/a]=${pair%/*} IMPL[$P/b]=${pair#*/}
  start_node "$P" a "${IMPL[$P/a]}"
  start_node "$P" b "${IMPL[$P/b]}"
  note "lab $P: a=${IMPL[$P/a]} b=${IMPL[$P/b]} started"
done
t_started=$(now_ms)

# Settle: mutual `active` in the logs, the VIP on exactly one node, SETTLE seconds since the start.
# shellcheck disable=SC2086 # a list of labs
labs_settle "$SETTLE" "$t_started" $labs
for P in $labs; do
  h=$(vip_holder "$P")
  case $h in a | b) ;; *) note "lab $P: warning: the VIP holder after settling is '$h'" ;; esac
done

# snapshot WHICH: CPU ticks and process counts of every daemon now.
snapshot() {
  local which=$1 P n pids
  for P in $labs; do
    for n in a b; do
      pids=$(node_procs "$P" "$n")
      [ -n "$pids" ] || fail "lab $P: no daemon runs on $n ($which of the idle interval)"
      # shellcheck disable=SC2086 # a list of pids
      if [ "$which" = start ]; then
        MASTER[$P/$n]=$(node_pid "$P" "$n")
        T0[$P/$n]=$(now_ms)
        CPU0[$P/$n]=$(tree_cpu_ticks $pids)
        SCH0[$P/$n]=$(tree_sched_ms $pids)
        NPROC0[$P/$n]=$(echo $pids | wc -w)
      else
        T1[$P/$n]=$(now_ms)
        CPU1[$P/$n]=$(tree_cpu_ticks $pids)
        SCH1[$P/$n]=$(tree_sched_ms $pids)
        NPROC1[$P/$n]=$(echo $pids | wc -w)
        RSS[$P/$n]=$(tree_rss_kib $pids)
        PSS[$P/$n]=$(tree_pss_kib $pids)
        [ "$(node_pid "$P" "$n")" = "${MASTER[$P/$n]}" ] || fail "lab $P: $n's daemon restarted during the interval"
      fi
    done
  done
}

note "idle for $S s"
snapshot start
sleep "$S"
snapshot end

echo
echo "== idle cost over $S s (keepalive 200ms, deadtime 1, 2 nodes, ucast, crc; CPU from /proc/PID/stat, $TCK ticks/s)"
printf '%-10s %-4s %-5s %-7s %-8s %-7s %-10s %-8s %-8s\n' lab node impl procs cpu_ms "%core" sched_ms rss_kib pss_kib
declare -A SUM_CPU=() SUM_SCH=() SUM_RSS=() SUM_PSS=() CNT=()
for P in $labs; do
  for n in a b; do
    k=$P/$n
    cpu_ms=$(((CPU1[$k] - CPU0[$k]) * 1000 / TCK))
    wall=$((T1[$k] - T0[$k]))
    pct=$(awk -v c="$cpu_ms" -v w="$wall" 'BEGIN { printf "%.2f", 100 * c / w }')
    sch=$(awk -v a="${SCH0[$k]}" -v b="${SCH1[$k]}" 'BEGIN { printf "%.1f", b - a }')
    printf '%-10s %-4s %-5s %-7s %-8s %-7s %-10s %-8s %-8s\n' "$P" "$n" "${IMPL[$k]}" "${NPROC0[$k]}->${NPROC1[$k]}" \
      "$cpu_ms" "$pct" "$sch" "${RSS[$k]}" "${PSS[$k]}"
    impl=${IMPL[$k]}
    SUM_CPU[$impl]=$((${SUM_CPU[$impl]:-0} + cpu_ms))
    SUM_SCH[$impl]=$(awk -v a="${SUM_SCH[$impl]:-0}" -v b="$sch" 'BEGIN { print a + b }')
    SUM_RSS[$impl]=$((${SUM_RSS[$impl]:-0} + RSS[$k]))
    SUM_PSS[$impl]=$((${SUM_PSS[$impl]:-0} + PSS[$k]))
    CNT[$impl]=$((${CNT[$impl]:-0} + 1))
  done
done
echo
echo "== per daemon, mean by implementation"
printf '%-5s %-8s %-8s %-7s %-10s %-8s %-8s\n' impl daemons cpu_ms "%core" sched_ms rss_kib pss_kib
for impl in orig ours; do
  [ -n "${CNT[$impl]:-}" ] || continue
  c=$((SUM_CPU[$impl] / CNT[$impl]))
  printf '%-5s %-8s %-8s %-7s %-10s %-8s %-8s\n' "$impl" "${CNT[$impl]}" "$c" \
    "$(awk -v c="$c" -v s="$S" 'BEGIN { printf "%.2f", 100 * c / (s * 1000) }')" \
    "$(awk -v t="${SUM_SCH[$impl]}" -v n="${CNT[$impl]}" 'BEGIN { printf "%.1f", t / n }')" \
    "$((SUM_RSS[$impl] / CNT[$impl]))" "$((SUM_PSS[$impl] / CNT[$impl]))"
done
for P in $labs; do lab_down "$P"; done
