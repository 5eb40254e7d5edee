#!/usr/bin/env bash
# t-watchdog.sh: `watchdog DEV` (issue #12). A FIFO stands in for the device (never load softdog on a test machine:
# it reboots it); its reader starts first and stamps every byte. a = IMPL_A (ours), b = IMPL_B (the original), both
# `watchdog /var/lib/heartbeat/wd`, keepalive 200ms, deadtime 5 (long enough that a short freeze kills nobody), no
# resources. For each node:
#   1. it writes one byte per heartbeat: over a 4 s window, 20 +- 6 bytes, median interval 200 +- 60 ms;
#   2. frozen for 2 s (SIGSTOP of the daemon and its processes), it writes nothing: the longest gap covers the freeze;
#   3. `heartbeat -k`: the last byte is the magic `V`, written after the command and before the daemon exits.
#   The pid file is left behind (or removed) by ours as by the original.
# The same checks on the original's node show that they test what 2.0.8 does.
# shellcheck disable=SC2034 # LAB_P is read by lib.sh
set -u
. "$(dirname "$0")/lib.sh"
IMPL_A=${IMPL_A:-ours}
IMPL_B=${IMPL_B:-orig}
case "$IMPL_A$IMPL_B" in *ours*) [ -x "$OURS_BIN" ] || skip "our daemon not built ($OURS_BIN)" ;; esac
P=w$$
P=${P:0:10}
declare -A pidfile=()
lab_up "$P"
for n in a b; do
  write_config $n keepalive=200ms deadtime=5 warntime=2 initdead=5 resources="" \
    extra="watchdog /var/lib/heartbeat/wd"
  must mkfifo -m 600 "$LAB_ROOT/$P/$n/lib/wd"
  # The reader: opened read-write, so it never blocks and never sees an end of file; one line per byte,
  # "<unix time> 0" for a NUL byte, "<unix time> <char>" otherwise.
  (
    exec 3<>"$LAB_ROOT/$P/$n/lib/wd"
    while IFS= read -r -d '' -n 1 -u 3 c; do printf '%s %s\n' "$EPOCHREALTIME" "${c:-0}"; done
  ) >"$LAB_ROOT/$P/$n/wd.bytes" 2>&1 &
  lab_bg $!
  disown $!
done
start_node "$P" a "$IMPL_A"
start_node "$P" b "$IMPL_B"
assert "a logs b active" wait_for 20 log_has a 'Status update for node b: status active'
assert "b logs a active" wait_for 20 log_has b 'Status update for node a: status active'
sleep 1

# bytes_between NODE FROM_MS TO_MS: the lines of NODE's byte log stamped in [FROM, TO).
bytes_between() {
  awk -v a="$2" -v b="$3" '{ t = $1 * 1000 } t >= a && t < b' "$LAB_ROOT/$P/$1/wd.bytes"
}
# gaps: the intervals between consecutive stamped lines on stdin, in ms, one per line.
gaps() {
  awk '{ t = $1 * 1000; if (NR > 1) printf "%d\n", t - prev; prev = t }'
}

for n in a b; do
  impl=$(impl_of_node "$P" $n)
  LAB_P=$P
  log_has $n "Using watchdog device: /var/lib/heartbeat/wd" || fail "0. $n ($impl) did not open the watchdog"
  t0=$(now_ms)
  sleep 4
  t1=$(now_ms)
  win=$(bytes_between $n "$t0" "$t1")
  count=$(echo "$win" | grep -c ' 0$')
  # shellcheck disable=SC2046 # one argument per interval
  med=$(median $(echo "$win" | gaps))
  note "1. $n ($impl): $count bytes in $((t1 - t0)) ms, median interval $med ms"
  [ "$count" -ge 14 ] && [ "$count" -le 26 ] || fail "1. $n ($impl): $count bytes in 4 s, expected about 20"
  [ "$med" -ge 140 ] && [ "$med" -le 260 ] || fail "1. $n ($impl): median interval $med ms, expected about 200"
  echo "$win" | grep -qv ' 0$' && fail "1. $n ($impl): a byte other than NUL while running: $(echo "$win" | grep -v ' 0$' | head -1)"

  pids=$(node_procs "$P" $n)
  t0=$(now_ms)
  for p in $pids; do kill -STOP "$p"; done
  sleep 2
  for p in $pids; do kill -CONT "$p"; done
  t1=$(now_ms)
  sleep 1
  during=$(bytes_between $n "$((t0 + 100))" "$((t1 - 50))" | wc -l)
  longest=$(bytes_between $n "$((t0 - 1000))" "$((t1 + 1000))" | gaps | sort -n | tail -1)
  note "2. $n ($impl): frozen $((t1 - t0)) ms: $during byte(s) written meanwhile, longest gap $longest ms"
  [ "$during" = 0 ] || fail "2. $n ($impl): $during byte(s) written while frozen"
  [ "$longest" -ge $((t1 - t0 - 250)) ] || fail "2. $n ($impl): longest gap $longest ms does not cover the freeze"
  after=$(bytes_between $n "$((t1 + 300))" "$(now_ms)" | wc -l)
  [ "$after" -ge 2 ] || fail "2. $n ($impl): no bytes after the thaw"
done

for n in a b; do
  impl=$(impl_of_node "$P" $n)
  pid=$(node_pid "$P" $n)
  t0=$(now_ms)
  stop_node "$P" $n
  t1=$(now_ms)
  sleep 0.3
  last=$(tail -1 "$LAB_ROOT/$P/$n/wd.bytes")
  vt=$(awk '{ printf "%d", $1 * 1000 }' <<<"$last")
  note "3. $n ($impl): heartbeat -k at +0 ms, last byte '${last#* }' at +$((vt - t0)) ms, daemon gone by +$((t1 - t0)) ms"
  assert_eq "3. $n ($impl): last byte" "${last#* }" V
  [ "$vt" -ge "$t0" ] && [ "$vt" -le "$t1" ] || fail "3. $n ($impl): the V was not written between -k and the exit"
  [ "$(grep -c ' V$' "$LAB_ROOT/$P/$n/wd.bytes")" = 1 ] || fail "3. $n ($impl): more than one V"
  pid_alive "$pid" && fail "3. $n ($impl): daemon $pid still runs"
  if [ -e "$LAB_ROOT/$P/$n/run/heartbeat.pid" ]; then pidfile[$n]=left; else pidfile[$n]=removed; fi
  note "3. $n ($impl): its pid file after the exit: ${pidfile[$n]}"
done
# 2.0.8 and 3.0.6 leave the pid file behind on a clean stop (the next start sees it names no live process).
[ "$IMPL_A" = "$IMPL_B" ] || assert_eq "3. the pid file after a clean stop, ours as the original" "${pidfile[a]}" "${pidfile[b]}"
note "PASS"
