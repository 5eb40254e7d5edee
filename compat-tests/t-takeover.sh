#!/usr/bin/env bash
# t-takeover.sh: v1 resource takeover (haresources) between node a (IMPL_A) and node b (IMPL_B), default a=orig,
# b=ours. haresources on both: `a IPaddr::198.51.100.254/24/eth0` (the resource-agents IPaddr through
# /etc/ha.d/resource.d/IPaddr, the same script for both daemons). One pass per auto_failback value (on, off,
# legacy: no auto_failback line, the original's default), each in a fresh lab:
#   1. both start together: the VIP lands on a, and only on a;
#   2. a crashes (links down + SIGKILL): b takes the VIP; the client's lost-ping window is printed;
#   3. a restarts and rejoins: with `on` the VIP returns to a, with `off` it stays on b; with `legacy` a asks for
#      its group (`ip-request`), b gives it up (`ip-request-resp`) and the VIP returns to a;
#   4. hb_standby (/usr/share/heartbeat/hb_standby, run on the node) on the VIP holder: the VIP moves to the peer
#      (legacy: standby does not exist there, the VIP stays; the original logs `Standby mode only implemented when
#      nice_failback on`);
#   5. hb_takeover on the node that lost it: the VIP moves back to it (legacy: hb_takeover on the other node, whose
#      request becomes a standby on the holder: ignored, the VIP stays);
#   6. `heartbeat -k` of the holder: the peer has the VIP within HANDOVER_MS (2000; legacy: LEGACY_HANDOVER_MS,
#      4000: the stop scripts run before `shutdone`, the start scripts after it) of the command and before the
#      leaving daemon exits, i.e. by a shutdown handover and not by declaring the leaving node dead (which takes
#      deadtime after its last heartbeat); the client's window is printed; then the peer stops too and nobody
#      holds the VIP.
# After every step the VIP must be on exactly one node and stay there for a while, and over the whole pass it is
# never on both nodes (every address change recorded by vip_watch_start).
# With auto_failback on and legacy, the holder in steps 4-6 is a; with off it is b, so each daemon plays each role
# across the passes.
#
# Run as root (about 100 s):
#   bash compat-tests/t-takeover.sh                                  # a=orig, b=ours (needs our daemon built)
#   IMPL_A=ours IMPL_B=orig bash compat-tests/t-takeover.sh           # roles swapped
#   IMPL_A=orig IMPL_B=orig bash compat-tests/t-takeover.sh           # proves the script on the original alone
#   FAILBACKS=off IMPL_A=orig IMPL_B=orig bash compat-tests/t-takeover.sh   # one pass only
#   FAILBACKS=legacy bash compat-tests/t-takeover.sh
# Other environment: HANDOVER_MS (limit of step 6, default 2000), OURS_BIN, LAB_KEEP=1 (see README.md).
set -u
. "$(dirname "$0")/lib.sh"

IMPL_A=${IMPL_A:-orig}
IMPL_B=${IMPL_B:-ours}
FAILBACKS=${FAILBACKS:-on off legacy}
HANDOVER_MS=${HANDOVER_MS:-2000}
LEGACY_HANDOVER_MS=${LEGACY_HANDOVER_MS:-4000}
HB_STANDBY=/usr/share/heartbeat/hb_standby
HB_TAKEOVER=/usr/share/heartbeat/hb_takeover

require_impls "$IMPL_A" "$IMPL_B"
for f in "$HB_STANDBY" "$HB_TAKEOVER" /etc/ha.d/resource.d/IPaddr /etc/ha.d/shellfuncs; do
  [ -e "$f" ] || fail "setup: $f missing (apt-get install -y heartbeat resource-agents)"
done
for mode in $FAILBACKS; do
  case $mode in on | off | legacy) ;; *) fail "FAILBACKS: '$mode' is not on, off or legacy" ;; esac
done

impl_of() { if [ "$1" = a ]; then echo "$IMPL_A"; else echo "$IMPL_B"; fi; }
peer_of() { if [ "$1" = a ]; then echo b; else echo a; fi; }
who() { echo "$1 ($(impl_of "$1"))"; }

# settle NODE WAIT HOLD WHAT: the VIP reaches NODE within WAIT s and stays there alone for HOLD s.
# VIP_SETTLE_AT: when the VIP was first seen on NODE.
settle() {
  vip_settle "$P" "$1" "$2" "$3" >"$LAB_ROOT/settle.msg" || fail "$PASS: $4: $(cat "$LAB_ROOT/settle.msg")"
}

# wait_replies N: the client got more than N replies (at most 5 s).
more_replies_than() { [ "$(ping_replies "$P")" -gt "$1" ]; }
wait_replies() {
  assert "$PASS: the client gets replies from the VIP" wait_for 5 more_replies_than "$1"
}

# standby_and_takeover (steps 4 and 5, auto_failback on/off): hb_standby on $holder moves the VIP to $other,
# hb_takeover on $holder brings it back.
standby_and_takeover() {
  local t0
  t0=$(now_ms)
  assert "$PASS: hb_standby on $holder" node_cmd "$P" "$holder" "$HB_STANDBY"
  settle "$other" 10 1 "hb_standby on $(who "$holder"): the VIP moves to $other"
  note "$PASS: 4. hb_standby on $(who "$holder"): VIP on $other after $((VIP_SETTLE_AT - t0)) ms"
  t0=$(now_ms)
  assert "$PASS: hb_takeover on $holder" node_cmd "$P" "$holder" "$HB_TAKEOVER"
  settle "$holder" 10 1 "hb_takeover on $(who "$holder"): the VIP moves back to $holder"
  note "$PASS: 5. hb_takeover on $(who "$holder"): VIP on $holder after $((VIP_SETTLE_AT - t0)) ms"
}

# legacy_standby_ignored (steps 4 and 5, auto_failback legacy): 2.0.8 has no standby without nice_failback.
# hb_standby on $holder and hb_takeover on $other (which asks $holder to go standby) leave the VIP on $holder.
legacy_standby_ignored() {
  local n
  assert "$PASS: hb_standby on $holder" node_cmd "$P" "$holder" "$HB_STANDBY"
  vip_stays "$P" "$holder" 3 >"$LAB_ROOT/settle.msg" ||
    fail "$PASS: hb_standby on $(who "$holder") in legacy mode: $(cat "$LAB_ROOT/settle.msg")"
  note "$PASS: 4. hb_standby on $(who "$holder"): ignored, VIP still on $holder after 3 s"
  assert "$PASS: hb_takeover on $other" node_cmd "$P" "$other" "$HB_TAKEOVER"
  vip_stays "$P" "$holder" 3 >"$LAB_ROOT/settle.msg" ||
    fail "$PASS: hb_takeover on $(who "$other") in legacy mode: $(cat "$LAB_ROOT/settle.msg")"
  note "$PASS: 5. hb_takeover on $(who "$other"): ignored, VIP still on $holder after 3 s"
  for n in a b; do
    if [ "$(impl_of "$n")" = orig ]; then
      assert "$PASS: $(who "$n") logs that standby needs nice_failback" \
        log_has "$n" 'Standby mode only implemented when nice_failback on'
    fi
  done
}

# pass MODE PREFIX: steps 1-6 with auto_failback MODE in a new lab.
pass() {
  local mode=$1 n t_start t0 ms window holder other pid r kpid t_vip t_exit now resp_mark t_watch
  P=$2
  PASS="auto_failback $mode (a=$IMPL_A b=$IMPL_B)"
  lab_up "$P"
  note "$PASS: lab $P"
  for n in a b; do write_config "$n" auth=crc medium=ucast auto_failback="$mode"; done
  vip_watch_start "$P"
  t_watch=$(now_ms)

  # 1. start together; the VIP lands on a (after the 10 s wait both nodes do when they start at once).
  start_node "$P" a "$IMPL_A"
  start_node "$P" b "$IMPL_B"
  t_start=$(now_ms)
  settle a 25 1 "after start the VIP is on a only"
  note "$PASS: 1. VIP on a alone, $(($(now_ms) - t_start)) ms after start"
  if [ "$mode" = legacy ]; then
    for n in a b; do
      assert "$PASS: $(who "$n") warns that legacy is deprecated" \
        log_has "$n" "Deprecated 'legacy' auto_failback option selected"
    done
  fi

  # 2. crash a. Each node announces deadtime + 2 s for its first 5 s: be past that first.
  while [ $(($(now_ms) - t_start)) -lt 6500 ]; do sleep 0.2; done
  client_ping_start "$P"
  wait_replies 0
  sleep 0.3
  t0=$(now_ms)
  crash_node "$P" a
  settle b 8 0.5 "after a's crash b takes the VIP"
  ms=$(($(now_ms) - t0))
  r=$(ping_replies "$P")
  wait_replies $((r + 5))
  window=$(client_ping_window "$P") || fail "$PASS: no ping window measured: $window"
  note "$PASS: 2. a crashed: VIP on b after $ms ms; client lost-ping window $window"

  # 3. a comes back.
  revive_node "$P" a
  resp_mark=$(log_count a 'received ip-request-resp IPaddr::198.51.100.254/24/eth0 OK')
  start_node "$P" a "$IMPL_A"
  t0=$(now_ms)
  if [ "$mode" = on ] || [ "$mode" = legacy ]; then
    settle a 20 1 "a restarted with auto_failback $mode: the VIP returns to a"
    holder=a
    note "$PASS: 3. a restarted: VIP back on a $(($(now_ms) - t0)) ms after its start"
    if [ "$mode" = legacy ]; then
      # a asked b for its group: an original b runs rc.d/ip-request; an original a runs rc.d/ip-request-resp for
      # b's answer (one more than before its restart; it also answers itself when it starts alone).
      if [ "$IMPL_B" = orig ]; then
        assert "$PASS: b received a's ip-request" log_has b 'rc.d/ip-request ip-request'
      fi
      if [ "$IMPL_A" = orig ]; then
        assert "$PASS: a received b's ip-request-resp" wait_for 5 log_count_above a \
          'received ip-request-resp IPaddr::198.51.100.254/24/eth0 OK' "$resp_mark"
      fi
    fi
  else
    # a rejoins (b logs its restart if b is the original; any b: a's start-up exchange is over within ~2 s);
    # with auto_failback on the VIP would be back on a within about 2 s of its start.
    if [ "$IMPL_B" = orig ]; then
      assert "$PASS: b logs a's restart" wait_for 10 log_has b 'Heartbeat restart on node a'
    fi
    settle b 1 6 "a restarted with auto_failback off: the VIP stays on b"
    holder=b
    note "$PASS: 3. a restarted: VIP still on b $(($(now_ms) - t0)) ms after a's start"
  fi
  other=$(peer_of "$holder")

  # 4. standby of the holder; 5. takeover by the node that lost it.
  if [ "$mode" = legacy ]; then
    legacy_standby_ignored
  else
    standby_and_takeover
  fi

  # 6. clean shutdown of the holder: a handover, well before the peer could declare it dead.
  sleep 0.5
  client_ping_start "$P"
  wait_replies 0
  pid=$(node_pid "$P" "$holder") || fail "$PASS: no daemon on $holder before heartbeat -k"
  t0=$(now_ms)
  node_run "$P" "$holder" timeout 40 "$(impl_bin "$(impl_of "$holder")")" -k \
    >>"$LAB_ROOT/$P/$holder/log/daemon.out" 2>&1 &
  kpid=$!
  record_pid "$P" "$kpid"
  t_vip='' t_exit=''
  while :; do
    now=$(now_ms)
    [ -n "$t_vip" ] || [ "$(vip_holder "$P")" != "$other" ] || t_vip=$now
    [ -n "$t_exit" ] || pid_alive "$pid" || t_exit=$now
    [ -z "$t_vip" ] || [ -z "$t_exit" ] || break
    [ $((now - t0)) -lt 15000 ] || break
    sleep 0.05
  done
  wait "$kpid" || fail "$PASS: heartbeat -k on $holder failed or timed out"
  [ -n "$t_exit" ] || fail "$PASS: $holder's daemon still runs 15 s after heartbeat -k"
  [ -n "$t_vip" ] || fail "$PASS: heartbeat -k on $(who "$holder"): $other never got the VIP within 15 s"
  settle "$other" 1 1 "after heartbeat -k on $holder the VIP is on $other alone"
  r=$(ping_replies "$P")
  wait_replies $((r + 5))
  window=$(client_ping_window "$P") || window="no gap ($window)"
  if [ "$t_vip" -le "$t_exit" ]; then r="$((t_exit - t_vip)) ms before"; else r="$((t_vip - t_exit)) ms after"; fi
  note "$PASS: 6. heartbeat -k on $(who "$holder"): VIP on $other after $((t_vip - t0)) ms," \
    "$r $holder's daemon exited (at $((t_exit - t0)) ms); client window $window"
  # Legacy: the leaving node runs its stop scripts before it says `shutdone`, and the peer its start scripts only
  # then (no `resource` exchange): slower, but still before the leaving daemon exits.
  r=$HANDOVER_MS
  [ "$mode" != legacy ] || r=$LEGACY_HANDOVER_MS
  [ $((t_vip - t0)) -le "$r" ] ||
    fail "$PASS: after heartbeat -k on $holder, $other had the VIP only after $((t_vip - t0)) ms" \
      "(limit $r ms: a handover, not a death after deadtime)"
  [ "$t_vip" -le "$t_exit" ] ||
    fail "$PASS: after heartbeat -k on $holder, $other had the VIP only after $holder's daemon exited"
  if [ "$(impl_of "$other")" = orig ]; then
    assert "$PASS: $other logs $holder's shutdown notice" log_has "$other" "Received shutdown notice from '$holder'"
  fi

  # Between the steps too, the VIP was never on both nodes (every address change the kernel reported).
  r=$(vip_watch_times "$P" "$t_watch" "$(now_ms)")
  note "$PASS: over the whole pass: ${r%% *} ms with two VIP holders, $(echo "$r" | cut -d' ' -f3) ms with none"
  [ "${r%% *}" = 0 ] || fail "$PASS: the VIP was on both nodes for ${r%% *} ms (longest $(echo "$r" | cut -d' ' -f2) ms)"
  stop_node "$P" "$other"
  assert_eq "$PASS: VIP holder after both stopped" "$(vip_holder "$P")" none
  # The original logs these (ERROR) when the holdings the nodes report conflict.
  for n in a b; do
    ! log_has "$n" 'Both machines own|No one owns' ||
      fail "$PASS: $(who "$n") logged conflicting holdings: $(grep -E 'Both machines own|No one owns' "$(log_file "$n")" | head -3)"
  done
  lab_down "$P"
  note "$PASS: all steps passed"
}

note "a=$IMPL_A b=$IMPL_B auto_failback passes: $FAILBACKS (our daemon: $OURS_BIN)"
base=k$$
base=${base:0:8}
for mode in $FAILBACKS; do
  pass "$mode" "$base${mode:1:1}"
done
note "PASS t-takeover (a=$IMPL_A b=$IMPL_B)"
