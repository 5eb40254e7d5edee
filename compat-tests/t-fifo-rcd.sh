#!/usr/bin/env bash
# t-fifo-rcd.sh: the FIFO and rc.d dispatch of our daemon, with IMPL_B (default the original)
# as the peer. A message written into a's FIFO the way shellfuncs' ha_clustermsg writes it
# reaches both nodes: each runs /etc/ha.d/rc.d/labmsg through harc with the message's fields
# as HA_<name> variables and the daemon's own (HA_CURHOST, HA_keepalive...). A malformed FIFO
# message is dropped and does not disturb the next one.
set -u
. "$(dirname "$0")/lib.sh"
IMPL_A=${IMPL_A:-ours}
IMPL_B=${IMPL_B:-orig}
[ -x "$OURS_BIN" ] || skip "our daemon not built ($OURS_BIN)"

P=f$$
P=${P:0:10}
lab_up "$P"
for n in a b; do
  write_config $n auth=sha1 key=fifo-test-key medium=ucast auto_failback=on
  cat >"$LAB_ROOT/$P/$n/etc/rc.d/labmsg" <<'EOS'
#!/bin/sh
# Records the environment harc gives rc.d scripts.
env | grep '^HA_' | sort > /var/lib/heartbeat/labmsg.env.$HA_seq
EOS
  chmod 755 "$LAB_ROOT/$P/$n/etc/rc.d/labmsg"
done
start_node "$P" a "$IMPL_A"
start_node "$P" b "$IMPL_B"
active() { log_has a "Status update for node b: status active" && log_has b "Status update for node a: status active"; }
assert "a and b active" wait_for 15 active
sleep 1

node_run "$P" a sh -c 'printf ">>>\nt=labmsg\nbroken line\n<<<\n>>>\nt=labmsg\nfoo=bar baz\nempty=\n<<<\n" > /var/lib/heartbeat/fifo'
ran() { ls "$LAB_ROOT/$P/$1/lib/" | grep -q '^labmsg.env'; }
assert "rc.d/labmsg ran on a" wait_for 10 ran a
assert "rc.d/labmsg ran on b" wait_for 10 ran b
for n in a b; do
  f=$(ls "$LAB_ROOT/$P/$n/lib/"labmsg.env.* | head -1)
  note "$n: $(tr '\n' ' ' <"$f" | cut -c1-300)"
  assert "$n: HA_foo=bar baz" grep -qx 'HA_foo=bar baz' "$f"
  assert "$n: HA_empty= (empty value kept)" grep -qx 'HA_empty=' "$f"
  assert "$n: HA_src=a" grep -qx 'HA_src=a' "$f"
  assert "$n: HA_t=labmsg" grep -qx 'HA_t=labmsg' "$f"
  assert "$n: HA_CURHOST=$n" grep -qx "HA_CURHOST=$n" "$f"
  assert "$n: HA_keepalive=200ms" grep -qx 'HA_keepalive=200ms' "$f"
  assert "$n: one run only (the broken message was dropped)" test "$(ls "$LAB_ROOT/$P/$n/lib/" | grep -c '^labmsg.env')" = 1
done
stop_node "$P" a
stop_node "$P" b
note "PASS t-fifo-rcd (a=$IMPL_A b=$IMPL_B)"
