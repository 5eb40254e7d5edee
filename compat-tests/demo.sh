#!/usr/bin/env bash
# demo.sh: the main job on one machine: the user's case in network namespaces.
# Builds the daemon, then runs two nodes of ours, a and b, on an embedded configuration:
# heartbeats with ucast over a crossover link (eth1, 192.0.2.0/24), crc auth, keepalive 200ms,
# deadtime 1, auto_failback on; the VIP 198.51.100.254 on eth0 (haresources
# `a IPaddr::198.51.100.254/24/eth0`, our native IPaddr) and a TCP service on port 12345 on both
# nodes. A client (namespace c) pings the VIP and connects to the service, with the project's own
# measuring tool (crates/hb-io/examples/vip_probe.rs).
# The demo shows the cluster forming, crashes a and measures the takeover by b (the client's
# lost-ping window and the service's), restarts a and shows the failback, then a clean stop of a
# (the shutdown handover), stops both, and cleans up. Every figure it prints is measured: if one
# cannot be, the demo fails (exit 1) and says which; it ends with DEMO OK only when all were.
# IMPL_B=orig runs the original heartbeat as node b (a mixed cluster, as in a rolling upgrade);
# RA_AGENTS=1 uses resource-agents' IPaddr script instead of our native one.
# Needs root; as root it installs what it needs (compat-tests/prereqs.sh: the original heartbeat
# and resource-agents, iproute2, ...) with apt-get; otherwise it names what is missing.
set -u
cd "$(dirname "$0")/.." || exit 1
if [ "$(id -u)" != 0 ]; then
  echo "demo.sh needs root (network namespaces): sudo $0"
  exit 1
fi
bash compat-tests/prereqs.sh demo || exit 1
echo "== building the daemon, its tools and the client's probe (cargo build --release)"
cargo build --release --workspace --bins --example vip_probe || exit 1
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
if [ -z "${RA_AGENTS:-}" ]; then
  [ -x "$REPO_DIR/target/release/hb-ipagent" ] || fail "target/release/hb-ipagent was not built"
  for n in a b; do
    mkdir -p "$LAB_ROOT/$P/$n/etc/resource.d"
    ln -sfn "$REPO_DIR/target/release/hb-ipagent" "$LAB_ROOT/$P/$n/etc/resource.d/IPaddr"
  done
  note "resource.d/IPaddr on both nodes: our native agent (hb-ipagent)"
fi

# The service: a TCP listener on port 12345 on both nodes, answering with its node's name.
service_start "$P" a
service_start "$P" b

# measure VAR FUNCTION DESC: VAR = what FUNCTION (client_ping_window, client_tcp_window) measured; a
# measurement that fails fails the demo, saying which.
w='' tw=''
measure() {
  local out
  out=$("$2" "$P") || fail "could not measure $3: $out (the client's record: $LAB_ROOT/$P/ping.out)"
  printf -v "$1" '%s' "$out"
}
# says NODE: the client reaches the service on the VIP and NODE answers.
says() {
  local got
  got=$(service_ask "$P" "$VIP") || fail "the client got no answer from VIP:12345 (expected 'service on $1')"
  [ "$got" = "service on $1" ] || fail "VIP:12345 answered '$got', expected 'service on $1'"
  note "client -> VIP:12345 says: $got"
}

start_node "$P" a ours
start_node "$P" b "$IMPL_B"
t0=$(now_ms)
vip_on() { [ "$(vip_holder "$P")" = "$1" ]; }
assert "the VIP comes up on a" wait_for 30 vip_on a
note "cluster formed, VIP on a after $(($(now_ms) - t0)) ms (both nodes started together wait for each other, as the original)"
says a
grep -E "Status update|Comm_now_up|Acquiring|Running|acquisition" "$(log_file a)" | sed 's/^/    a: /' | head -8

sleep 3
client_ping_start "$P" --tcp 12345
sleep 1
crash_node "$P" a
note "crashed a (links down + SIGKILL)"
assert "b takes the VIP" wait_for 10 vip_on b
assert "the client reaches the service on b" wait_for 10 client_tcp_from "$P" "service on b"
sleep 0.5
measure w client_ping_window "the takeover's lost-ping window"
measure tw client_tcp_window "the takeover's service window"
note "takeover: the client lost the VIP for $w (deadtime is 1000 ms)"
note "takeover: the service did not answer for $tw"
says b
grep -E "is dead|Taking over|Running|takeover complete" "$(log_file b)" | tail -5 | sed 's/^/    b: /'

revive_node "$P" a
client_ping_start "$P" --tcp 12345
start_node "$P" a ours
assert "the VIP fails back to a (auto_failback on)" wait_for 30 vip_on a
assert "the client reaches the service on a" wait_for 10 client_tcp_from "$P" "service on a"
sleep 0.5
measure w client_ping_window "the failback's lost-ping window"
measure tw client_tcp_window "the failback's service window"
note "failback: the client lost the VIP for $w while it moved back"
note "failback: the service did not answer for $tw"
says a
assert "after the failback the VIP is on a only" vip_on a

client_ping_start "$P" --tcp 12345
sleep 1
stop_node "$P" a
assert "a clean stop of a hands the VIP to b" wait_for 10 vip_on b
assert "the client reaches the service on b" wait_for 10 client_tcp_from "$P" "service on b"
sleep 0.5
measure w client_ping_window "the shutdown handover's lost-ping window"
measure tw client_tcp_window "the shutdown handover's service window"
note "shutdown handover: the client lost the VIP for $w"
note "shutdown handover: the service did not answer for $tw"
says b
stop_node "$P" b
note "both stopped; cleaning up"
echo "DEMO OK"
