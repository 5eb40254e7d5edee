#!/usr/bin/env bash
# t-reload.sh: configuration changes on a running node of ours (a), the original as b.
#   1. `heartbeat -r` with an unchanged configuration: "Configuration unchanged.", nothing moves;
#   2. a refused configuration (a typo in ha.cf) with -r: refused with the error and exit status,
#      the running daemon keeps going and keeps the VIP;
#   3. new authkeys on both nodes, then SIGHUP (-r) on both: the new keys are used, the cluster
#      stays up and the VIP stays on a;
#   4. a name service that hangs during a reload: a's heartbeats keep their pace (b, the original,
#      logs no late heartbeat of a near deadtime and never declares it dead), the VIP stays on a;
#      `heartbeat -r` with that name service waits for it in its own process and refuses;
#   5. only timers changed in ha.cf (keepalive 200ms -> 100ms, warntime 500ms -> 600ms) and -r
#      (issue #15, reload without a flap): applied in place: same pid and generation, the VIP
#      stays on a, no resource script runs again, a sends about twice the heartbeats (distinct
#      sequence numbers tcpdump sees on b's eth1 over 3 s, before and after), cl_status
#      hbparameter says 100ms;
#   6. any other change of ha.cf (here hopfudge) and -r: a releases its group, restarts in place
#      (same pid, higher generation) and the VIP comes back to a (auto_failback on);
#   7. another change and -r, then `heartbeat -k` while a releases its group for the restart:
#      the stop wins (no re-exec, -k returns, the VIP goes to b).
set -u
. "$(dirname "$0")/lib.sh"
[ -x "$OURS_BIN" ] || skip "our daemon not built ($OURS_BIN)"
command -v tcpdump >/dev/null || fail "setup: tcpdump not found (compat-tests/prereqs.sh installs it)"
P=r$$
P=${P:0:10}
lab_up "$P"
for n in a b; do write_config $n auth=md5 key=first-key medium=ucast auto_failback=on; done
# a's name service (for step 4): hosts from files, then DNS at 192.0.2.53, an address on the
# heartbeat link that nobody answers (a static neighbour entry sends the queries to a MAC
# address nobody has, so b drops them and nothing says no: the resolver waits for its timeouts).
printf 'nameserver 192.0.2.53\noptions timeout:2 attempts:2\n' >"$LAB_ROOT/$P/resolv.conf"
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$LAB_ROOT/$P/nsswitch.conf"
must ip -n "$P-a" neigh replace 192.0.2.53 lladdr 02:00:00:00:00:53 dev eth1 nud permanent
LAB_BINDS="$LAB_ROOT/$P/resolv.conf=/etc/resolv.conf $LAB_ROOT/$P/nsswitch.conf=/etc/nsswitch.conf" \
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

# 4. The reload resolves `ping hang.test` (in a thread: the loop goes on), the resolver gives up
#    after its timeouts, and the line is refused. SIGHUP directly: `heartbeat -r` checks the files
#    itself first and would wait for the resolver too.
cp "$LAB_ROOT/$P/a/etc/ha.cf" "$LAB_ROOT/$P/ha.cf.good"
echo "ping hang.test" >>"$LAB_ROOT/$P/a/etc/ha.cf"
late0=$(log_count b "Late heartbeat: Node a")
t0=$(now_ms)
kill -HUP "$(node_pid "$P" a)"
assert "4. a refuses the unresolvable ping node" wait_for 60 log_has a "ping: unknown host 'hang.test'"
waited=$(($(now_ms) - t0))
lates=$(grep -E "Late heartbeat: Node a" "$(log_file b)" | tail -n +$((late0 + 1)) |
  sed -E 's/.*interval ([0-9]+) ms.*/\1/' | tr '\n' ' ')
worst=$(printf '%s\n' $lates 0 | sort -n | tail -1)
note "4. the reload waited $waited ms for the name service; b's late heartbeats of a meanwhile: ${lates:-none} (worst ${worst} ms, deadtime 1000)"
assert "4. the name service really hung (the reload took $waited ms)" test "$waited" -ge 3000
assert "4. a's heartbeats kept their pace (worst interval $worst ms)" test "$worst" -lt 900
assert "4. b never declared a dead" eval "! log_has b 'node a: is dead'"
out=$(vip_stays "$P" a 1) || fail "4. $out"
#    `heartbeat -r` (run with a's name service) checks the files in its own process before it
#    signals: it waits for the resolver there, then refuses without signalling; the daemon's
#    loop is not involved (the original's -r reads the files first too).
late0=$(log_count b "Late heartbeat: Node a")
t0=$(now_ms)
rc=0
msg=$(LAB_BINDS="$LAB_ROOT/$P/resolv.conf=/etc/resolv.conf $LAB_ROOT/$P/nsswitch.conf=/etc/nsswitch.conf" \
  node_run "$P" a timeout 60 "$OURS_BIN" -r 2>&1) || rc=$?
waited=$(($(now_ms) - t0))
note "4. heartbeat -r with the hung name service: exit $rc after $waited ms; b's new late heartbeats of a: $(($(log_count b "Late heartbeat: Node a") - late0))"
assert "4. -r refuses the unresolvable ping node (exit $rc)" test "$rc" != 0 -a "$rc" != 124
assert "4. -r names it: $msg" grep -q "ping: unknown host 'hang.test'" <<<"$msg"
assert "4. -r waited for the name service ($waited ms)" test "$waited" -ge 3000
assert_eq "4. the daemon still runs" "$(node_pid "$P" a)" "$pid"
assert_eq "4. b logged no late heartbeat of a meanwhile" "$(log_count b "Late heartbeat: Node a")" "$late0"
cp "$LAB_ROOT/$P/ha.cf.good" "$LAB_ROOT/$P/a/etc/ha.cf"

# 5. Timers alone: no restart, no group stop.
# a's messages in 3 s, as b's eth1 receives them: distinct sequence numbers (a sends more than one
# copy of each status while it counts the link lossy, as after the key change of step 3).
seqs3() {
  ip netns exec "$P-b" timeout 3 tcpdump -i eth1 -n -l -A 'udp port 694 and src host 192.0.2.1' 2>/dev/null |
    grep -a -o 'seq=[0-9a-f]*' | sort -u | wc -l
}
runs0=$(log_count a "Running .*IPaddr.* (start|stop)")
before=$(seqs3)
sed -i -e 's/^warntime .*/warntime 600ms/' -e 's/^keepalive .*/keepalive 100ms/' "$LAB_ROOT/$P/a/etc/ha.cf"
node_run "$P" a "$OURS_BIN" -r >/dev/null 2>&1 || fail "5. -r on a failed"
assert "5. a applies the timers in place" wait_for 5 log_has a "Configuration reloaded without a restart: keepalive 200ms -> 100ms, warntime 500ms -> 600ms"
after=$(seqs3)
note "5. a's messages on the wire in 3 s: $before at keepalive 200ms, $after at 100ms"
assert "5. a sends about twice as often ($before -> $after in 3 s)" test $((after * 10)) -ge $((before * 16))
assert_eq "5. same pid" "$(node_pid "$P" a)" "$pid"
assert_eq "5. same generation" "$(generation "$P" a)" "$g1"
out=$(vip_stays "$P" a 1) || fail "5. $out"
assert_eq "5. no resource script ran again" "$(log_count a "Running .*IPaddr.* (start|stop)")" "$runs0"
assert "5. no restart" eval "! log_has a 'Heartbeat restart triggered'"
assert "5. b never declared a dead" eval "! log_has b 'node a: is dead'"
ka=$(node_run "$P" a cl_status hbparameter -p keepalive 2>&1)
assert_eq "5. cl_status hbparameter -p keepalive" "$ka" "100ms"

# 6. Anything else: a restart in place.
echo "hopfudge 2" >>"$LAB_ROOT/$P/a/etc/ha.cf"
node_run "$P" a "$OURS_BIN" -r >/dev/null 2>&1 || fail "6. -r on a failed"
assert "6. a restarts in place" wait_for 10 eval "[ \"\$(generation $P a)\" -gt $g1 ]"
assert_eq "6. same pid after the restart" "$(node_pid "$P" a)" "$pid"
out=$(vip_settle "$P" a 30 1) || fail "$out"
assert "6. a logged the restart" log_has a "Performing heartbeat restart exec."
note "6. restarted in place, generation $(generation "$P" a), VIP back on a"

# 7. A stop during that restart wins: the TERM turns the restart into a stop, no re-exec, and
#    `heartbeat -k` returns (the first version ignored the TERM, re-executed itself, took its
#    group back, and -k waited for ever on the same pid).
pid=$(node_pid "$P" a)
g4=$(generation "$P" a)
execs=$(log_count a "Performing heartbeat restart exec.")
sed -i 's/^hopfudge .*/hopfudge 3/' "$LAB_ROOT/$P/a/etc/ha.cf"
node_run "$P" a "$OURS_BIN" -r >/dev/null 2>&1 || fail "7. -r on a failed"
assert "7. a starts the restart" wait_for 5 log_has a "releasing resources first"
t0=$(now_ms)
rc=0
node_run "$P" a timeout 20 "$OURS_BIN" -k >>"$LAB_ROOT/$P/a/log/daemon.out" 2>&1 || rc=$?
note "7. heartbeat -k during the restart returned $rc after $(($(now_ms) - t0)) ms"
assert_eq "7. heartbeat -k during the restart" "$rc" 0
assert "7. the daemon is gone" eval "! pid_alive $pid"
assert_eq "7. no restart exec after the stop" "$(log_count a "Performing heartbeat restart exec.")" "$execs"
assert_eq "7. no new generation" "$(generation "$P" a)" "$g4"
out=$(vip_settle "$P" b 10 1) || fail "7. $out"
note "7. the stop won: a stopped, the VIP is on b"
stop_node "$P" b
note "PASS t-reload"
