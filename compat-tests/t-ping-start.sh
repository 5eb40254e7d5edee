#!/usr/bin/env bash
# t-ping-start.sh: ping nodes at start-up. 2.0.8 counts ping nodes among the nodes it must have heard from or
# declared dead before communication comes up (check_comm_isup): a ping node that never answers holds a node in
# status `up` (no client API, no resources) until `initdead` has passed; one that answers does not delay it.
# Two passes in one lab, a=IMPL_A (default orig), b=IMPL_B (default ours), both with initdead 8:
#   1. ha.cf of both adds `ping 198.51.100.99` (nobody has that address): each node logs the ping node dead and
#      only then `Comm_now_up()`, not before initdead after its start;
#   2. both restarted with `ping 198.51.100.100` (the lab client, which answers): each comes up well before
#      initdead.
# The measured times are printed. Run as root (about 35 s): bash compat-tests/t-ping-start.sh;
# IMPL_A=ours IMPL_B=orig bash compat-tests/t-ping-start.sh swaps the roles.
set -u
. "$(dirname "$0")/lib.sh"
IMPL_A=${IMPL_A:-orig}
IMPL_B=${IMPL_B:-ours}
INITDEAD=8
require_impls "$IMPL_A" "$IMPL_B"
P=ps$$
P=${P:0:10}
lab_up "$P"

# pass PING: start both with `ping PING`; sets UP_MS_a/UP_MS_b (ms from the node's start to its Comm_now_up).
pass() {
  local ping=$1 n t_a t_b
  for n in a b; do
    write_config $n auth=crc medium=ucast auto_failback=on deadtime=2 initdead=$INITDEAD resources= \
      extra="ping $ping"
    : >"$(log_file $n)"
  done
  start_node "$P" a "$IMPL_A"
  t_a=$(now_ms)
  start_node "$P" b "$IMPL_B"
  t_b=$(now_ms)
  UP_MS_a='' UP_MS_b=''
  for _ in $(seq 1 $(((INITDEAD + 8) * 10))); do
    if [ -z "$UP_MS_a" ] && log_has a 'Comm_now_up\(\)'; then UP_MS_a=$(($(now_ms) - t_a)); fi
    if [ -z "$UP_MS_b" ] && log_has b 'Comm_now_up\(\)'; then UP_MS_b=$(($(now_ms) - t_b)); fi
    [ -n "$UP_MS_a" ] && [ -n "$UP_MS_b" ] && break
    sleep 0.1
  done
  [ -n "$UP_MS_a" ] || fail "ping $ping: a ($IMPL_A) never logged Comm_now_up()"
  [ -n "$UP_MS_b" ] || fail "ping $ping: b ($IMPL_B) never logged Comm_now_up()"
  note "ping $ping: communication up on a ($IMPL_A) after $UP_MS_a ms, on b ($IMPL_B) after $UP_MS_b ms (initdead ${INITDEAD} s)"
}

# 1. a silent ping node
pass 198.51.100.99
for n in a b; do
  ms=UP_MS_$n
  # 500 ms of slack for the start-up itself (the pid file appears after the daemon's clock started)
  assert "silent ping node: $n waited for initdead (${!ms} ms)" [ "${!ms}" -ge $((INITDEAD * 1000 - 500)) ]
  assert "$n declared the silent ping node dead" log_has $n 'node 198\.51\.100\.99: is dead'
  first_dead=$(grep -n 'node 198\.51\.100\.99: is dead' "$(log_file $n)" | head -1 | cut -d: -f1)
  first_up=$(grep -n 'Comm_now_up()' "$(log_file $n)" | head -1 | cut -d: -f1)
  assert "$n: the ping node is declared dead before communication comes up" [ "$first_dead" -lt "$first_up" ]
done
assert_eq "a sees b active" "$(node_status_from "$P" a b)" active
assert_eq "b sees a active" "$(node_status_from "$P" b a)" active
stop_node "$P" a
stop_node "$P" b

# 2. a ping node that answers
pass 198.51.100.100
for n in a b; do
  ms=UP_MS_$n
  assert "answering ping node: $n did not wait for initdead (${!ms} ms)" [ "${!ms}" -lt $((INITDEAD * 1000 / 2)) ]
  assert_eq "$n: the ping node's status" "$(node_run "$P" $n /usr/bin/cl_status nodestatus 198.51.100.100)" ping
done
stop_node "$P" a
stop_node "$P" b
note "PASS t-ping-start"
