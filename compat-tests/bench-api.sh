#!/usr/bin/env bash
# bench-api.sh: the client API under load (issue #6), the original's daemon and ours in the same run.
#
# One lab per implementation in IMPLS (default "orig ours"): node a runs that implementation, node b runs PEER
# (default orig, so the same receiver judges both). Configuration as in the other tests: keepalive 200ms,
# deadtime 1, warntime 500ms, ucast, crc, auto_failback on, haresources `a IPaddr::198.51.100.254/24/eth0`.
# The labs start together and settle (both nodes active, the VIP on a). tcpdump then listens on b's eth1 (in b's
# namespace; filter: udp port 694 from 192.0.2.1), and:
#   1. idle: IDLE seconds (default 20) with no client, all labs at once;
#   2. load, one lab after the other: the load generator (crates/hb-api/examples/api_bench.rs) runs on a with
#      N casual clients (default 100; one process each, effective group haclient as cl_status has) that sign on
#      together and for D seconds (default 20) send requests in turn, each waiting for its answer: nodestatus b,
#      nodelist, getparm keepalive, getrsc (what cl_status rscstatus asks).
# Printed: per implementation the requests per second (total, and per client min/median/max), the request
# latency (p50/p99/max), errors, the CPU the daemon on a used during the load (schedstat of the master and its
# descendants, % of one core); and for each phase the intervals between consecutive status heartbeats of a as
# seen on b's wire (api_bench jitter decodes every captured datagram, keeps t=status, counts a heartbeat sent
# twice once): p50, p99, max, the number over warntime, and the `Late heartbeat` lines b logged meanwhile.
# A benchmark: no pass/fail, except setup failures (status 1).
#
# Needs (besides lib.sh's requirements) tcpdump, setpriv, the group haclient, and the release build of our
# daemon and of the load generator (default target dir, from the repository root):
#   cargo build --release -p heartbeat -p hb-api --examples
# Run as root (about 100 s):
#   bash compat-tests/bench-api.sh
#   N=50 D=10 IDLE=10 bash compat-tests/bench-api.sh;  IMPLS=orig ...;  PEER=ours ...
#   API_BENCH=/path/to/api_bench OURS_BIN=/path/to/heartbeat ...    (other builds)
set -u
. "$(dirname "$0")/lib.sh"

API_BENCH=${API_BENCH:-$REPO_DIR/target/release/examples/api_bench}
N=${N:-100}
D=${D:-20}
IDLE=${IDLE:-20}
IMPLS=${IMPLS:-orig ours}
PEER=${PEER:-orig}
for v in N D IDLE; do
  case ${!v} in '' | *[!0-9]* | 0) fail "$v must be a positive number, not '${!v}'" ;; esac
done
[ "$N" -le 1000 ] || fail "N must be at most 1000"
if [ "$D" -gt 300 ] || [ "$IDLE" -gt 300 ]; then fail "D and IDLE must be at most 300 s"; fi
for impl in $IMPLS $PEER; do
  case $impl in
  orig) ;;
  ours) [ -x "$OURS_BIN" ] || fail "setup: our daemon not built ($OURS_BIN); IMPLS=orig PEER=orig measures the original only" ;;
  *) fail "IMPLS/PEER: '$impl' is not orig or ours" ;;
  esac
done
[ -x "$API_BENCH" ] ||
  fail "setup: load generator not built ($API_BENCH): cargo build --release -p heartbeat -p hb-api --examples"
for t in tcpdump setpriv timeout; do command -v $t >/dev/null || fail "setup: required tool '$t' not found"; done
HACLIENT_GID=$(getent group haclient | cut -d: -f3)
[ -n "$HACLIENT_GID" ] || fail "setup: no group haclient (install the heartbeat package)"

# result KEY FILE: a field of api_bench's RESULT or JITTER line.
result() {
  awk -v k="$1" '/^(RESULT|JITTER) / { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) v = substr($i, length(k) + 2) } }
    END { print (v == "" ? "?" : v) }' "$2"
}

# Start every lab, then let them settle together.
declare -A IMPL_OF=() PCAP=() CAPPID=()
labs=''
i=0
for impl in $IMPLS; do
  i=$((i + 1))
  P=k$$
  P=${P:0:8}$i
  lab_up "$P"
  labs="$labs $P"
  IMPL_OF[$P]=$impl
  for n in a b; do write_config "$n" auth=crc medium=ucast auto_failback=on; done
  start_node "$P" a "$impl"
  start_node "$P" b "$PEER"
  note "lab $P: a=$impl b=$PEER started"
done
for P in $labs; do
  # shellcheck disable=SC2034 # read by lib.sh's log functions
  LAB_P=$P
  assert "lab $P: b logs a active" wait_for 15 log_has b 'Status update for node a: status active'
  out=$(vip_settle "$P" a 30 1) || fail "lab $P: $out"
done
note "settled: both nodes active, the VIP on a, in every lab"

# Capture a's datagrams on b's heartbeat link (bounded by timeout; stopped with SIGINT below).
cap_s=$((IDLE + 2 * (D + 60) + 60))
for P in $labs; do
  PCAP[$P]=$LAB_ROOT/$P/b-eth1.pcap
  ip netns exec "$P-b" timeout "$cap_s" tcpdump -i eth1 -n -U -Z root -w "${PCAP[$P]}" \
    'udp port 694 and src host 192.0.2.1' 2>"$LAB_ROOT/$P/tcpdump.err" &
  CAPPID[$P]=$!
  record_pid "$P" "${CAPPID[$P]}"
  assert "lab $P: tcpdump listens on b's eth1" wait_for 5 grep -q 'listening on' "$LAB_ROOT/$P/tcpdump.err"
done

# late_count P: `Late heartbeat` lines in b's log so far.
late_count() {
  LAB_P=$1 log_count b 'Late heartbeat'
}

declare -A IDLE_FROM=() IDLE_TO=() LATE0=() LATE1=() LATE2=() CPU_PCT=() BOUT=() DEAD=()
note "idle for $IDLE s"
for P in $labs; do LATE0[$P]=$(late_count "$P"); done
t0=$(now_ms)
sleep "$IDLE"
t1=$(now_ms)
for P in $labs; do
  IDLE_FROM[$P]=$t0 IDLE_TO[$P]=$t1 LATE1[$P]=$(late_count "$P")
done

for P in $labs; do
  impl=${IMPL_OF[$P]}
  note "lab $P: $N clients hammer $impl's API on a for $D s"
  pids=$(node_procs "$P" a)
  [ -n "$pids" ] || fail "lab $P: no daemon on a before the load"
  # shellcheck disable=SC2086
  s0=$(tree_sched_ms $pids)
  w0=$(now_ms)
  BOUT[$P]=$LAB_ROOT/$P/api_bench.out
  node_run "$P" a setpriv --regid "$HACLIENT_GID" --clear-groups \
    timeout $((D + 90)) "$API_BENCH" --clients "$N" --duration "$D" >"${BOUT[$P]}" 2>&1 ||
    fail "lab $P: api_bench failed (status $?): $(tail -n 5 "${BOUT[$P]}")"
  w1=$(now_ms)
  pids_after=$(node_procs "$P" a)
  if [ -z "$pids_after" ]; then
    note "lab $P: warning: $impl's daemon on a is gone after the load"
    CPU_PCT[$P]='?'
  else
    # shellcheck disable=SC2086
    s1=$(tree_sched_ms $pids_after)
    CPU_PCT[$P]=$(awk -v a="$s0" -v b="$s1" -v w=$((w1 - w0)) 'BEGIN { printf "%.1f", 100 * (b - a) / w }')
  fi
  LATE2[$P]=$(late_count "$P")
  DEAD[$P]=$(LAB_P=$P log_count b 'node a: is dead')
  sed 's/^/    /' "${BOUT[$P]}"
  grep -q '^RESULT ' "${BOUT[$P]}" || fail "lab $P: api_bench printed no RESULT line"
  sleep 1
done

for P in $labs; do
  kill -INT "${CAPPID[$P]}" 2>/dev/null
  wait_for 5 eval "! pid_alive ${CAPPID[$P]}" || kill -KILL "${CAPPID[$P]}" 2>/dev/null
  wait "${CAPPID[$P]}" 2>/dev/null
  [ -s "${PCAP[$P]}" ] || fail "lab $P: tcpdump wrote no capture (${PCAP[$P]})"
  "$API_BENCH" jitter --pcap "${PCAP[$P]}" --src 192.0.2.1 --node a --from-ms "${IDLE_FROM[$P]}" \
    --to-ms "${IDLE_TO[$P]}" --warn-ms 500 >"$LAB_ROOT/$P/jitter-idle.out" || fail "lab $P: jitter (idle) failed"
  "$API_BENCH" jitter --pcap "${PCAP[$P]}" --src 192.0.2.1 --node a --from-ms "$(result go_ms "${BOUT[$P]}")" \
    --to-ms "$(result end_ms "${BOUT[$P]}")" --warn-ms 500 >"$LAB_ROOT/$P/jitter-load.out" ||
    fail "lab $P: jitter (load) failed"
  beats=$(result heartbeats "$LAB_ROOT/$P/jitter-idle.out")
  if [ "$beats" = "?" ] || [ "$beats" -lt $((IDLE * 2)) ]; then
    fail "lab $P: only '$beats' status heartbeats of a captured in $IDLE s idle (expected about $((IDLE * 5)))"
  fi
done

echo
echo "== API requests: $N casual clients for $D s against a's daemon (nodestatus, nodelist, getparm, getrsc in turn)"
printf '%-5s %-9s %-9s %-9s %-22s %-24s %-7s %-6s\n' impl signed_on requests 'req/s' 'per client min/med/max' \
  'latency p50/p99/max ms' errors 'cpu%'
for P in $labs; do
  f=${BOUT[$P]}
  printf '%-5s %-9s %-9s %-9s %-22s %-24s %-7s %-6s\n' "${IMPL_OF[$P]}" "$(result signed_on "$f")/$N" \
    "$(result requests "$f")" "$(result rps "$f")" \
    "$(result client_min_rps "$f")/$(result client_median_rps "$f")/$(result client_max_rps "$f")" \
    "$(result lat_p50_ms "$f")/$(result lat_p99_ms "$f")/$(result lat_max_ms "$f")" "$(result errors "$f")" \
    "${CPU_PCT[$P]}"
done
echo "(cpu%: the daemon on a, master and descendants, % of one core over the load run including sign-on/off)"
echo
echo "== a's status heartbeats seen on b's eth1 (keepalive 200 ms, warntime 500 ms; b runs $PEER)"
printf '%-5s %-5s %-6s %-8s %-8s %-8s %-7s %-s\n' impl phase beats p50_ms p99_ms max_ms '>500ms' 'Late heartbeat logged by b'
for P in $labs; do
  for phase in idle load; do
    f=$LAB_ROOT/$P/jitter-$phase.out
    if [ $phase = idle ]; then late=$((LATE1[$P] - LATE0[$P])); else late=$((LATE2[$P] - LATE1[$P])); fi
    printf '%-5s %-5s %-6s %-8s %-8s %-8s %-7s %-s\n' "${IMPL_OF[$P]}" "$phase" "$(result heartbeats "$f")" \
      "$(result p50_ms "$f")" "$(result p99_ms "$f")" "$(result max_ms "$f")" "$(result over_warn "$f")" "$late"
  done
  [ "${DEAD[$P]}" = 0 ] || echo "     warning: b declared a dead ${DEAD[$P]} time(s) in lab $P"
done
for P in $labs; do lab_down "$P"; done
