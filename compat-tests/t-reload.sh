#!/usr/bin/env bash
# t-reload.sh: configuration changes on a running node of ours (a), the original as b.
#   1. `heartbeat -r` with an unchanged configuration: "Configuration unchanged.", nothing moves;
#   2. a refused configuration (a typo in ha.cf) with -r: refused with the error and exit status,
#      the running daemon keeps going and keeps the VIP;
#   3. new authkeys on both nodes, then SIGHUP (-r) on both: the new keys are used, the cluster
#      stays up and the VIP stays on a;
#   4. a changed ha.cf (warntime) and -r: a releases its group, restarts in place (same pid,
#      higher generation) and the VIP comes back to a (auto_failback on);
#   5. another change and -r, then `heartbeat -k` while a releases its group for the restart:
#      the stop wins (no re-exec, -k returns, the VIP goes to b).
set -u
. "$(dirname "$0")/lib.sh"
[ -x "$OURS_BIN" ] || skip "our daemon not built ($OURS_BIN)"
P=r$$
P=${P:0:10}
lab_up "$P"
for n in a b; do write_config $n auth=md5 key=first-key medium=ucast auto_failback=on; done
start_node "$P" a ours
start_node "$P" b orig
out=$(vip_settle "$P" a 30 1) || fail "$out"
pid=$(node_pid "$P" a)
g1=$(generation "$P" a)
note "VIP on a (pid $pid, generation $g1)"

node_run "$P" a "$OURS_BIN" -r >/dev/null 2>&1 || fail "-r with an unchanged configuration failed"
assert "1. a logs 'Configuration unchanged.'" wait_for 5 log_has a "Configuration unchanged."
out=$(vip_stays "$P" a 2) || fail "$out"

cp "$LAB_ROOT/$P/a/etc/ha.cf" "$LAB_ROOT/$P/ha.cf.good"
echo "frobnicate yes" >>"$LAB_ROOT/$P/a/etc/ha.cf"
rc=0
msg=$(node_run "$P" a "$OURS_BIN" -r 2>&1) || rc=$?
assert "2. -r refuses a bad ha.cf (exit $rc)" test "$rc" != 0
assert "2. the error names the line" eval "echo \"\$msg\" | grep -q \"unknown directive 'frobnicate'\""
assert_eq "2. the daemon still runs" "$(node_pid "$P" a)" "$pid"
cp "$LAB_ROOT/$P/ha.cf.good" "$LAB_ROOT/$P/a/etc/ha.cf"
out=$(vip_stays "$P" a 2) || fail "$out"

for n in a b; do printf 'auth 2\n2 sha1 second-key\n' >"$LAB_ROOT/$P/$n/etc/authkeys"; chmod 600 "$LAB_ROOT/$P/$n/etc/authkeys"; done
node_run "$P" a "$OURS_BIN" -r >/dev/null 2>&1 || fail "-r on a failed"
kill -HUP "$(node_pid "$P" b)"
assert "3. a uses the new keys" wait_for 5 log_has a "authkeys changed: new keys in use."
sleep 4
assert "3. b still sees a active" eval "[ \"\$(node_status_from $P b a)\" = active ]"
assert "3. a never declared b dead" eval "! log_has a 'node b: is dead'"
out=$(vip_stays "$P" a 1) || fail "$out"

sed -i 's/^warntime .*/warntime 600ms/' "$LAB_ROOT/$P/a/etc/ha.cf"
node_run "$P" a "$OURS_BIN" -r >/dev/null 2>&1 || fail "-r on a failed"
assert "4. a restarts in place" wait_for 10 eval "[ \"\$(generation $P a)\" -gt $g1 ]"
assert_eq "4. same pid after the restart" "$(node_pid "$P" a)" "$pid"
out=$(vip_settle "$P" a 30 1) || fail "$out"
assert "4. a logged the restart" log_has a "Performing heartbeat restart exec."
note "4. restarted in place, generation $(generation "$P" a), VIP back on a"

# 5. A stop during that restart wins: the TERM turns the restart into a stop, no re-exec, and
#    `heartbeat -k` returns (the first version ignored the TERM, re-executed itself, took its
#    group back, and -k waited for ever on the same pid).
pid=$(node_pid "$P" a)
g4=$(generation "$P" a)
execs=$(log_count a "Performing heartbeat restart exec.")
sed -i 's/^warntime .*/warntime 700ms/' "$LAB_ROOT/$P/a/etc/ha.cf"
node_run "$P" a "$OURS_BIN" -r >/dev/null 2>&1 || fail "5. -r on a failed"
assert "5. a starts the restart" wait_for 5 log_has a "releasing resources first"
t0=$(now_ms)
rc=0
node_run "$P" a timeout 20 "$OURS_BIN" -k >>"$LAB_ROOT/$P/a/log/daemon.out" 2>&1 || rc=$?
note "5. heartbeat -k during the restart returned $rc after $(($(now_ms) - t0)) ms"
assert_eq "5. heartbeat -k during the restart" "$rc" 0
assert "5. the daemon is gone" eval "! pid_alive $pid"
assert_eq "5. no restart exec after the stop" "$(log_count a "Performing heartbeat restart exec.")" "$execs"
assert_eq "5. no new generation" "$(generation "$P" a)" "$g4"
out=$(vip_settle "$P" b 10 1) || fail "5. $out"
note "5. the stop won: a stopped, the VIP is on b"
stop_node "$P" b
note "PASS t-reload"
