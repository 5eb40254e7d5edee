#!/usr/bin/env bash
# t-fence.sh: STONITH (issue #12) with cluster-glue's `stonith` plugins, ours beside the original. One lab per entry
# of PAIRS (default "orig/ours ours/orig null"), all in parallel. haresources `a IPaddr::198.51.100.254/24/eth0`,
# auto_failback on, keepalive 200ms, deadtime 1, initdead 10 (with a STONITH device a node not heard within initdead
# of the start is reset, by the original as by ours: the nodes must have time to start).
#
# a/b (a holds the VIP, b resets it), with an external plugin of this test, external/hbfenceNNN (installed in the
# plugins' external/ directory for this run only, removed at exit): `stonith_host * external/hbfenceNNN LABROOT LAB
# PID` (PID: the test's shell, whose namespaces the plugin enters);
# its reset of a node is what a real one does to the network: eth1 and eth0 down, eth0's addresses flushed, the
# node's heartbeat daemon and everything below it killed. While LAB/stonith-fail exists, it fails.
#   1. the VIP settles on a;
#   2. plugin failing, a frozen (SIGSTOP of its daemon's processes): b declares a dead and tries to reset it,
#      `STONITH of a failed.  Retrying...` every ~5 s; the VIP stays on a alone (b takes nothing unfenced);
#   3. the plugin works again: at its next try b resets a, then takes the VIP; never two holders (ip monitor);
#   4. a restarts and gets the VIP back; plugin failing, a frozen for 7 s then continued: a reads b's
#      `stonith node=a result=bad` messages (its rc.d/stonith records them: the implementations read each
#      other's); ours as b stops retrying once a is back; one holder at the end.
# null (a = the original, b = ours) with cluster-glue's `null` plugin (`stonith_host * null a b`): the device
# check at start as the original logs it, `heartbeat -t` quiet about stonith_host; a crashes (links down + kill):
# b logs `Resetting node a with [NULL STONITH device]`, `node a now reset.`, the command's exit, then takes the VIP.
#
# Run as root (about 90 s):
#   bash compat-tests/t-fence.sh
#   PAIRS=ours/ours bash compat-tests/t-fence.sh
# shellcheck disable=SC2086 # lists of pids and the fields of a result line are meant to be split
# shellcheck disable=SC2034 # LAB_P and LAB_FAILED are read by lib.sh
set -u
. "$(dirname "$0")/lib.sh"

PAIRS=${PAIRS:-orig/ours ours/orig null}
for pair in $PAIRS; do
  case $pair in
  null) require_impls ours ;;
  orig/orig) ;;
  ours/ours | orig/ours | ours/orig) require_impls ours ;;
  *) fail "PAIRS: '$pair' is not a/b of orig and ours, or null" ;;
  esac
done
command -v stonith >/dev/null || fail "setup: the stonith command is missing (apt-get install -y cluster-glue)"
command -v nsenter >/dev/null || fail "setup: nsenter (util-linux) is missing"
[ -e /etc/ha.d/resource.d/IPaddr ] || fail "setup: /etc/ha.d/resource.d/IPaddr missing (apt-get install -y heartbeat)"
PLUGIN_DIR=
for d in /usr/lib/stonith/plugins/external /usr/lib64/stonith/plugins/external \
  /usr/lib/x86_64-linux-gnu/stonith/plugins/external; do
  if [ -d "$d" ]; then PLUGIN_DIR=$d; break; fi
done
[ -n "$PLUGIN_DIR" ] || fail "setup: no stonith plugins directory with external/ (cluster-glue)"
PLUG=hbfence$$
PLUGIN=$PLUGIN_DIR/$PLUG
# The plugin leaves with the run, whatever happens (the lab's own cleanup comes after).
fence_exit() {
  local rc=$?
  rm -f "$PLUGIN"
  (exit "$rc")
  lab_cleanup
}
trap fence_exit EXIT
cat >"$PLUGIN" <<'EOF'
#!/bin/sh
# External STONITH plugin of compat-tests/t-fence.sh, installed for one run. Parameters (environment, in the
# order of getconfignames): labroot, lab, rootpid (a process of the test in the machine's own namespaces).
# "Resets" node NODE of that lab: eth1 and eth0 down, the daemon and its processes killed, eth0's addresses
# flushed. Fails while $labroot/$lab/stonith-fail exists.
case $1 in
gethosts) echo a; echo b ;;
getconfignames) echo labroot; echo lab; echo rootpid ;;
getinfo-devid) echo "t-fence lab STONITH device" ;;
getinfo-devname) echo "t-fence $lab" ;;
getinfo-devdescr) echo "Resets a node of a compat-tests lab" ;;
getinfo-devurl) echo "compat-tests/t-fence.sh" ;;
getinfo-xml) echo '<parameters><parameter name="labroot" unique="0" required="1"><content type="string"/><shortdesc lang="en">lab root</shortdesc></parameter><parameter name="lab" unique="0" required="1"><content type="string"/><shortdesc lang="en">lab prefix</shortdesc></parameter><parameter name="rootpid" unique="0" required="1"><content type="string"/><shortdesc lang="en">a process in the root namespaces</shortdesc></parameter></parameters>' ;;
status) [ -d "$labroot/$lab" ] ;;
on) exit 0 ;;
off | reset)
  node=$2
  echo "$(date +%s.%N) $1 $node by $(hostname)" >>"$labroot/$lab/stonith.log"
  if [ -e "$labroot/$lab/stonith-fail" ]; then
    echo "t-fence: failing on purpose" >&2
    exit 1
  fi
  # In the machine's own namespaces (the caller runs in a node's), those of the test (PID 1 may not be entered).
  exec nsenter -t "$rootpid" -m -n -- sh -c '
    labroot=$1 lab=$2 node=$3 ns=$2-$3
    ip -n "$ns" link set eth1 down && ip -n "$ns" link set eth0 down || exit 1
    pid=$(tr -d " \n" <"$labroot/$lab/$node/run/heartbeat.pid" 2>/dev/null)
    if [ -n "$pid" ]; then
      all=$(cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$pid" "
        { n = split(\$0, part, \") \"); split(part[n], f, \" \"); parent[\$1] = f[2] }
        END { want[root] = 1; print root
              for (r = 0; r < 20; r++) for (c in parent) if (!(c in want) && (parent[c] in want)) { want[c] = 1; print c } }")
      kill -KILL $all 2>/dev/null
    fi
    ip -n "$ns" addr flush dev eth0 || exit 1
    echo "$(date +%s.%N) $node reset" >>"$labroot/$lab/stonith.log"' sh "$labroot" "$lab" "$node"
  ;;
*) exit 1 ;;
esac
EOF
chmod 755 "$PLUGIN"
stonith -L | grep -qx "external/$PLUG" || fail "setup: stonith -L does not list external/$PLUG"

# rc_recorder P NODE: rc.d/stonith of NODE records every stonith message it gets (harc passes its fields).
rc_recorder() {
  cat >"$LAB_ROOT/$1/$2/etc/rc.d/stonith" <<'EOF'
#!/bin/sh
echo "$(date +%s.%N) from=$HA_src node=$HA_node result=$HA_result" >>/var/lib/heartbeat/stonith.msgs
EOF
  chmod 755 "$LAB_ROOT/$1/$2/etc/rc.d/stonith"
}

freeze() { for p in $(node_procs "$P" "$1"); do kill -STOP "$p"; done; }
thaw() { for p in $(node_procs "$P" "$1"); do kill -CONT "$p"; done; }

# stamps_of FILE REGEX: the unix times (s.ns) of the lines of FILE matching REGEX.
stamps_of() { grep -E -- "$2" "$1" 2>/dev/null | awk '{ print $1 }'; }

null_lab() {
  P=$1
  lab_up "$P"
  for n in a b; do write_config "$n" auth=crc medium=ucast auto_failback=on initdead=10 extra="stonith_host * null a b"; done
  start_node "$P" a orig
  start_node "$P" b ours
  local t_start
  t_start=$(now_ms)
  vip_settle "$P" a 30 1 >"$LAB_ROOT/$P/settle.msg" || fail "null: $(cat "$LAB_ROOT/$P/settle.msg")"
  LAB_P=$P
  for n in a b; do
    wait_for 5 log_has $n "Checking status of STONITH device \[NULL STONITH device\]" ||
      fail "null: $n did not check its device at start"
    note "null: $n ($(impl_of_node "$P" $n)): $(grep -E 'STONITH-stat process' "$(log_file $n)" | head -1 | sed 's/.*: //')"
  done
  t=$(node_run "$P" b "$OURS_BIN" -t 2>&1)
  echo "$t" | grep -q "Configuration OK" || fail "null: heartbeat -t on b: $t"
  echo "$t" | grep -q "stonith_host.*not acted on" && fail "null: heartbeat -t still calls stonith_host not acted on: $t"
  while [ $(($(now_ms) - t_start)) -lt 9000 ]; do sleep 0.2; done
  vip_watch_start "$P"
  local t0
  t0=$(now_ms)
  crash_node "$P" a
  note "null: a crashed"
  vip_settle "$P" b 10 1 >"$LAB_ROOT/$P/settle.msg" || fail "null: $(cat "$LAB_ROOT/$P/settle.msg")"
  note "null: VIP on b $(($(now_ms) - t0)) ms after the crash"
  for l in "Resetting node a with \[NULL STONITH device\]" "node a now reset\." \
    "Exiting STONITH a process [0-9]+ returned rc 0\." "Resources being acquired from a\."; do
    log_has b "$l" || fail "null: b did not log '$l'"
  done
  # Reset first, then the group.
  awk '/node a now reset\./ { r = NR } /Acquiring resource group/ && r { ok = 1 } END { exit !ok }' "$(log_file b)" ||
    fail "null: b acquired the group before the reset ended"
  grep -E "STONITH|stonith" "$(log_file b)" | tail -6 | sed 's/^/    b: /'
  # From the crash (links down). The lab's crash removes the VIP from a's eth0 only after killing a's processes
  # (seconds later on a loaded machine, when b may be about to take it): the time from the crash to the VIP on b
  # printed above is the takeover with the reset; the table's "no holder" counts from that removal.
  echo "RESULT null $(vip_watch_times "$P" "$t0" "$(now_ms)")"
}

one_lab() {
  local pair=$1 ia=${1%/*} ib=${1#*/} t_start t_freeze t_fix t_end n
  if [ "$pair" = null ]; then null_lab "$2"; return; fi
  P=$2
  lab_up "$P"
  for n in a b; do
    write_config "$n" auth=crc medium=ucast auto_failback=on initdead=10 extra="stonith_host * external/$PLUG $LAB_ROOT $P $$"
    rc_recorder "$P" $n
  done
  start_node "$P" a "$ia"
  start_node "$P" b "$ib"
  t_start=$(now_ms)
  vip_settle "$P" a 30 1 >"$LAB_ROOT/$P/settle.msg" || fail "$pair: $(cat "$LAB_ROOT/$P/settle.msg")"
  while [ $(($(now_ms) - t_start)) -lt 9000 ]; do sleep 0.2; done
  LAB_P=$P
  # (the original logs the plugin's own line end inside the brackets)
  log_has b "Checking status of STONITH device \[t-fence lab STONITH device" || fail "$pair: b did not check its device"

  # 2. plugin failing, holder frozen: no takeover.
  vip_watch_start "$P"
  : >"$LAB_ROOT/$P/stonith-fail"
  t_freeze=$(now_ms)
  freeze a
  note "$pair: a frozen, the plugin failing"
  sleep 12
  [ "$(vip_holder "$P")" = a ] || fail "$pair: 2. the VIP is on '$(vip_holder "$P")' while a is frozen and not reset"
  local fails tries
  fails=$(log_count b "STONITH of a failed\.  Retrying\.\.\.")
  tries=$(stamps_of "$LAB_ROOT/$P/stonith.log" "reset a by b" | awk 'NR > 1 { printf "%s%.1f", sep, $1 - prev; sep = " " } { prev = $1 }')
  note "$pair: 2. b: $fails x 'STONITH of a failed.  Retrying...'; $(stamps_of "$LAB_ROOT/$P/stonith.log" "reset a by b" | wc -l) tries, s apart: $tries"
  [ "$fails" -ge 2 ] || fail "$pair: 2. b logged 'STONITH of a failed.  Retrying...' $fails times in 12 s"
  for g in $tries; do
    awk -v g="$g" 'BEGIN { exit !(g >= 4.5 && g <= 7.5) }' || fail "$pair: 2. tries $g s apart (5 s expected)"
  done

  # 3. plugin working: a reset, then the VIP on b.
  rm -f "$LAB_ROOT/$P/stonith-fail"
  t_fix=$(now_ms)
  vip_settle "$P" b 10 1 >"$LAB_ROOT/$P/settle.msg" || fail "$pair: 3. $(cat "$LAB_ROOT/$P/settle.msg")"
  node_pid "$P" a >/dev/null && fail "$pair: 3. a's daemon survived its reset"
  local reset_at vip_at r
  reset_at=$(stamps_of "$LAB_ROOT/$P/stonith.log" "a reset$" | tail -1)
  vip_at=$(ipmon_vip_added "$LAB_ROOT/$P/vipwatch.b")
  [ -n "$reset_at" ] && [ -n "$vip_at" ] || fail "$pair: 3. no reset ($reset_at) or no VIP on b ($vip_at) recorded"
  awk -v r="$reset_at" -v v="$vip_at" 'BEGIN { exit !(v > r) }' || fail "$pair: 3. the VIP came to b ($vip_at) before a's reset ($reset_at)"
  r=$(vip_watch_times "$P" "$t_freeze" "$(now_ms)")
  note "$pair: 3. plugin fixed; reset $(awk -v r="$reset_at" -v t="$t_fix" 'BEGIN { printf "%d", r * 1000 - t }') ms later, VIP on b $(awk -v r="$reset_at" -v v="$vip_at" 'BEGIN { printf "%d", (v - r) * 1000 }') ms after the reset; two holders $(echo $r | awk '{ print $1 }') ms"
  [ "$(echo $r | awk '{ print $1 }')" = 0 ] || fail "$pair: 3. two holders for $(echo $r | awk '{ print $1 }') ms"
  grep -E "from=b node=a result=(bad|OK)" "$LAB_ROOT/$P/b/lib/stonith.msgs" 2>/dev/null | tail -2 | sed "s|^|    $pair: b's rc.d/stonith: |"

  # 4. a back; frozen again with the plugin failing, then continued: it reads b's stonith messages.
  revive_node "$P" a
  must ip -n "$P-a" addr add 198.51.100.1/24 brd + dev eth0
  rm -rf "$LAB_ROOT/$P/a/run/resource-agents"/*
  start_node "$P" a "$ia"
  vip_settle "$P" a 30 1 >"$LAB_ROOT/$P/settle.msg" || fail "$pair: 4. $(cat "$LAB_ROOT/$P/settle.msg")"
  sleep 4
  : >"$LAB_ROOT/$P/stonith-fail"
  local t_freeze2 t_thaw
  t_freeze2=$(now_ms)
  freeze a
  sleep 7
  [ "$(vip_holder "$P")" = a ] || fail "$pair: 4. the VIP is on '$(vip_holder "$P")' while a is frozen and not reset"
  thaw a
  t_thaw=$(now_ms)
  note "$pair: 4. a frozen 7 s with the plugin failing, continued"
  wait_for 10 grep -qs "from=b node=a result=bad" "$LAB_ROOT/$P/a/lib/stonith.msgs" ||
    fail "$pair: 4. a ($ia) never ran rc.d/stonith for b's ($ib) stonith messages"
  note "$pair: 4. a ($ia) read b's ($ib): $(grep -m1 'from=b node=a result=bad' "$LAB_ROOT/$P/a/lib/stonith.msgs" | cut -d' ' -f2-)"
  sleep 8
  if [ "$ib" = ours ]; then
    log_has b "STONITH of a not retried: a is alive again" || fail "$pair: 4. ours (b) did not stop retrying"
    local late
    late=$(stamps_of "$LAB_ROOT/$P/stonith.log" "reset a by b" | awk -v t="$t_thaw" '$1 * 1000 > t + 1000' | wc -l)
    [ "$late" = 0 ] || fail "$pair: 4. ours (b) tried $late more reset(s) of a after a was back"
  fi
  rm -f "$LAB_ROOT/$P/stonith-fail"
  wait_for 15 eval "case \$(vip_holder $P) in a | b) true ;; *) false ;; esac" ||
    fail "$pair: 4. the VIP is on '$(vip_holder "$P")' after a came back"
  note "$pair: 4. VIP on $(vip_holder "$P") (two holders since the freeze: $(vip_watch_times "$P" "$t_freeze2" "$(now_ms)" | awk '{ print $1 }') ms)"
  t_end=$(now_ms)
  echo "RESULT $pair $(vip_watch_times "$P" "$t_freeze" "$t_end")"
}

note "pairs [$PAIRS], plugin external/$PLUG (our daemon: $OURS_BIN)"
status=0
vip_pairs_run "f$$" "STONITH: from the first freeze to the end" || status=1
if [ "$status" != 0 ]; then
  LAB_FAILED=1
  echo "FAIL: t-fence; see the messages above" >&2
  exit 1
fi
note "PASS t-fence"
