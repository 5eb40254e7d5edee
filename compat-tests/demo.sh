#!/usr/bin/env bash
# demo.sh: the main job on one machine. Builds the daemon, then runs two nodes of ours
# (a and b) in network namespaces on an embedded configuration (keepalive 200ms,
# deadtime 1, ucast heartbeats over eth1, crc auth), shows them forming a cluster, crashes
# a and shows how fast b declares it dead, restarts a and shows it rejoin with a higher
# generation, stops both, and cleans up.
# With IMPL_B=orig, node b runs the original heartbeat instead (a mixed cluster).
#
# Resource takeover (the VIP) is the next step of the project (issue #4): until it is wired
# into the daemon, this demo shows membership and failure detection only.
set -u
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "demo.sh needs root (network namespaces): sudo $0"
  exit 1
fi
echo "== building the daemon (cargo build --release)"
cargo build --release -p heartbeat || exit 1
. compat-tests/lib.sh
IMPL_B=${IMPL_B:-ours}

P=d$$
P=${P:0:10}
lab_up "$P"
note "lab $P: nodes a (198.51.100.1, 192.0.2.1) and b (198.51.100.2, 192.0.2.2)"
write_config a auth=crc medium=ucast auto_failback=on
write_config b auth=crc medium=ucast auto_failback=on
note "configuration of a:"
sed 's/^/    /' "$LAB_ROOT/$P/a/etc/ha.cf"

start_node "$P" a ours
start_node "$P" b "$IMPL_B"
t0=$(now_ms)
both_active() { log_has a "Status update for node b: status active" && log_has b "Status update for node a: status active"; }
assert "a and b see each other active" wait_for 15 both_active
note "cluster formed in $(($(now_ms) - t0)) ms; a's log:"
grep -E "Link|Status update|Comm_now_up|generation" "$(log_file a)" | sed 's/^/    /' | head -12
node_run "$P" a "$OURS_BIN" -s | sed 's/^/    heartbeat -s on a: /'

sleep 6   # steady state (past the 5 s start-up dead-time bump)
before=$(log_count b "node a: is dead")
t_kill=$(now_ms)
crash_node "$P" a
note "crashed a (links down + SIGKILL)"
dead() { [ "$(log_count b "node a: is dead")" -gt "$before" ]; }
assert "b declares a dead" wait_for 5 dead
note "b declared a dead $(($(now_ms) - t_kill)) ms after the crash (deadtime is 1000 ms)"

revive_node "$P" a
g1=$(generation "$P" a)
start_node "$P" a ours
restarted() { log_has b "Heartbeat restart on node a"; }
assert "a rejoins" wait_for 15 restarted
note "a rejoined with generation $(generation "$P" a) (was $g1)"

stop_node "$P" a
stop_node "$P" b
note "both stopped; cleaning up"
echo "DEMO OK"
