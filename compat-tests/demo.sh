#!/usr/bin/env bash
# demo.sh: the main job on one machine: the user's case in network namespaces.
# Builds the daemon, then runs two nodes of ours, a and b, on an embedded configuration:
# heartbeats with ucast over a crossover link (eth1, 192.0.2.0/24), crc auth, keepalive 200ms,
# deadtime 1, auto_failback on; the VIP 198.51.100.254 on eth0 (haresources
# `a IPaddr::198.51.100.254/24/eth0`, the IPaddr script of resource-agents) and a TCP service on
# port 12345 on both nodes. A client (namespace c) pings the VIP and connects to the service.
# The demo shows the cluster forming, crashes a and measures the takeover by b (the client's
# lost-ping window), restarts a and shows the failback, stops both, and cleans up.
# IMPL_B=orig runs the original heartbeat as node b (a mixed cluster, as in a rolling upgrade);
# RA_AGENTS=1 uses resource-agents' IPaddr script instead of our native one.
set -u
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "demo.sh needs root (network namespaces): sudo $0"
  exit 1
fi
echo "== building the daemon and its tools (cargo build --release --workspace)"
cargo build --release --workspace || exit 1
. compat-tests/lib.sh
IMPL_B=${IMPL_B:-ours}

P=d$$
P=${P:0:10}
lab_up "$P"
note "lab $P: nodes a (198.51.100.1, 192.0.2.1) and b (198.51.100.2, 192.0.2.2), client c (198.51.100.100)"
write_config a auth=crc medium=ucast auto_failback=on
write_config b auth=crc medium=ucast auto_failback=on
note "ha.cf of both nodes:"
grep -v '^#' "$LAB_ROOT/$P/a/etc/ha.cf" | sed 's/^/    /'
note "haresources: $(cat "$LAB_ROOT/$P/a/etc/haresources")"
# Our native IPaddr, as the package installs it (RA_AGENTS=1 keeps resource-agents' script).
if [ -z "${RA_AGENTS:-}" ] && [ -x "$REPO_DIR/target/release/hb-ipagent" ]; then
  for n in a b; do ln -sfn "$REPO_DIR/target/release/hb-ipagent" "$LAB_ROOT/$P/$n/etc/resource.d/IPaddr"; done
  note "resource.d/IPaddr on both nodes: our native agent (hb-ipagent)"
fi

# The service: a TCP listener on port 12345 on both nodes, answering with its node's name.
for n in a b; do
  ip netns exec "$P-$n" sh -c "while true; do echo \"service on $n\" | nc -l -N 12345 >/dev/null 2>&1 || sleep 0.2; done" &
  lab_bg $!
done
service() { ip netns exec "$P-c" nc -w 1 -N "$VIP" 12345 </dev/null 2>/dev/null; }

start_node "$P" a ours
start_node "$P" b "$IMPL_B"
t0=$(now_ms)
vip_on() { [ "$(vip_holder "$P")" = "$1" ]; }
assert "the VIP comes up on a" wait_for 30 vip_on a
note "cluster formed, VIP on a after $(($(now_ms) - t0)) ms (both nodes started together wait for each other, as the original)"
note "client -> VIP:12345 says: $(service)"
grep -E "Status update|Comm_now_up|Acquiring|Running|acquisition" "$(log_file a)" | sed 's/^/    a: /' | head -8

sleep 3
client_ping_start "$P"
sleep 1
crash_node "$P" a
note "crashed a (links down + SIGKILL)"
assert "b takes the VIP" wait_for 10 vip_on b
sleep 1
note "takeover: the client lost the VIP for $(client_ping_window "$P") (deadtime is 1000 ms)"
note "client -> VIP:12345 says: $(service)"
grep -E "is dead|Taking over|Running|takeover complete" "$(log_file b)" | tail -5 | sed 's/^/    b: /'

revive_node "$P" a
client_ping_start "$P"
start_node "$P" a ours
assert "the VIP fails back to a (auto_failback on)" wait_for 30 vip_on a
sleep 1
note "failback: the client lost the VIP for $(client_ping_window "$P") while it moved back"
note "client -> VIP:12345 says: $(service)"
assert "after the failback the VIP is on a only" vip_on a

client_ping_start "$P"
stop_node "$P" a
assert "a clean stop of a hands the VIP to b" wait_for 10 vip_on b
sleep 1
note "shutdown handover: the client lost the VIP for $(client_ping_window "$P")"
stop_node "$P" b
note "both stopped; cleaning up"
echo "DEMO OK"
