#!/usr/bin/env bash
# t-upgrade.sh: the rolling upgrade of issue #8 in a two-node lab, and the rollback, with a client pinging the VIP
# throughout.
#
# The cluster starts as two nodes of the original heartbeat (Debian's 3.0.6, standing in for 2.0.8: same v1
# protocol), haresources `a IPaddr::198.51.100.254/24/eth0` on both, auto_failback $FAILBACK (default on), keepalive 200ms,
# deadtime 1. "Upgrading" a node does what the RPM does to it, as an administrator would (docs/INSTALL.md
# section 4): stop the original (`heartbeat -k`: its group moves to the peer), replace the package's files in its
# /etc/ha.d (harc, shellfuncs, rc.d, resource.d: the original's go, ours, laid out by packaging/install.sh, come;
# ha.cf, haresources, authkeys, the administrator's own script and /var/lib/heartbeat stay), then start ours with
# our init script (/etc/init.d/heartbeat start; HALIB /usr/lib/heartbeat bound into the node). A rollback is the
# reverse (our init script's stop, the original's files back, the original started).
#   upgrade:  b (holds nothing; the VIP stays on a), then a (the VIP moves to b when a stops; with auto_failback on
#             it returns to a when our daemon starts there, with off it stays on b);
#   rollback: b, then a, the same way (with off, the VIP moves away from each node as it stops).
# After every stop and start the VIP must be where auto_failback puts it, alone.
# After each node: it rejoins with the same hb_uuid and the next hb_generation, the other node logs
# "Heartbeat restart on node N", both nodes report each other active (cl_status), the VIP is on exactly one node and then on a. For each phase the client's total lost-ping
# time (unanswered requests x 20 ms) is printed with its gaps; it must not exceed one takeover window per
# node, TAKEOVER_WINDOW_MS (default deadtime + 1000 ms = 2000 ms) each, i.e. 2 windows per phase, and no
# single gap may exceed one window.
#
# Run as root (about 1-2 minutes): bash compat-tests/t-upgrade.sh
# Environment: FAILBACK=on|off, TAKEOVER_WINDOW_MS, OURS_BIN (its directory must hold the other built programs: hb_standby,
# hb_takeover, hb-ipagent), LAB_KEEP=1.
set -u
. "$(dirname "$0")/lib.sh"

DEADTIME_MS=1000
FAILBACK=${FAILBACK:-on}
case $FAILBACK in on | off) ;; *) fail "FAILBACK must be on or off, not '$FAILBACK'" ;; esac
TAKEOVER_WINDOW_MS=${TAKEOVER_WINDOW_MS:-$((DEADTIME_MS + 1000))}
BINDIR=$(dirname "$OURS_BIN")
[ -x "$OURS_BIN" ] || skip "our daemon not built ($OURS_BIN)"
for f in /etc/ha.d/resource.d/IPaddr /etc/ha.d/shellfuncs; do
  [ -e "$f" ] || fail "setup: $f missing (apt-get install -y heartbeat resource-agents)"
done

# Our installed tree: HALIB /usr/lib/heartbeat (2.0.8's path on 32-bit systems: a directory that exists on this
# host, so a node can have ours bound over it without creating anything on the host).
DEST=$LAB_ROOT/dest
HALIB=/usr/lib/heartbeat
sh "$REPO_DIR/packaging/install.sh" "$DEST" --libdir /usr/lib --bindir "$BINDIR" >"$LAB_ROOT/install.log" 2>&1 ||
  fail "setup: packaging/install.sh failed: $(tail -n 5 "$LAB_ROOT/install.log")"
[ -x "$DEST/etc/init.d/heartbeat" ] || fail "setup: install.sh did not install the init script"
# The original's package files in /etc/ha.d (what its RPM owns there), from this host's install.
ORIG_ETC=$LAB_ROOT/orig-etc
mkdir -p "$ORIG_ETC"
cp -a /etc/ha.d/harc /etc/ha.d/shellfuncs /etc/ha.d/rc.d /etc/ha.d/resource.d "$ORIG_ETC/" ||
  fail "setup: copying the original's /etc/ha.d files"
[ -e /etc/ha.d/README.config ] && cp -a /etc/ha.d/README.config "$ORIG_ETC/"

P=u$$
P=${P:0:10}
lab_up "$P"
note "lab $P under $LAB_ROOT; ours laid out in $DEST (HALIB $HALIB)"
for n in a b; do
  write_config "$n" auth=sha1 key=upgrade-test medium=ucast auto_failback="$FAILBACK"
  # the administrator's own script, never used by haresources: it must survive every step untouched
  printf '#!/bin/sh\n# an administrator script of node %s\nexit 0\n' "$n" >"$LAB_ROOT/$P/$n/etc/resource.d/AdminOwn"
  chmod 755 "$LAB_ROOT/$P/$n/etc/resource.d/AdminOwn"
done

# admin_sums NODE: checksums of what the administrator owns on NODE (identity files apart).
admin_sums() {
  local d=$LAB_ROOT/$P/$1/etc
  (cd "$d" && sha256sum ha.cf haresources authkeys resource.d/AdminOwn && stat -c '%a authkeys' authkeys)
}

# swap_files NODE FROM TO: replace the package files FROM (a tree like /etc/ha.d's package part) by TO in the
# node's /etc/ha.d, as rpm -U does: FROM's files go, TO's come, anything else stays.
swap_files() {
  local d=$LAB_ROOT/$P/$1/etc from=$2 to=$3 f
  (cd "$from" && find . ! -type d) | while IFS= read -r f; do rm -f "$d/$f"; done
  cp -a "$to/." "$d/" || fail "copying the package files into $1's /etc/ha.d"
}

# ours_init NODE ACTION: our init script on NODE, with HALIB bound to ours (bounded: 60 s). Sets OUT, RC.
ours_init() {
  OUT=$(LAB_BINDS="$DEST$HALIB=$HALIB" node_run "$P" "$1" timeout 60 "$DEST/etc/init.d/heartbeat" "$2" 2>&1)
  RC=$?
  echo "=== $(date '+%F %T') init $2: rc $RC: $OUT" >>"$LAB_ROOT/$P/$1/log/daemon.out"
}

# The VIP's holder as the test expects it: a node that stops gives the VIP to the other; a starting a takes it
# back with auto_failback on; otherwise it stays.
HOLDER=a
other_of() { if [ "$1" = a ]; then echo b; else echo a; fi; }
after_stop() { [ "$HOLDER" != "$1" ] || HOLDER=$(other_of "$1"); }
after_start() { [ "$FAILBACK" = off ] || [ "$1" != a ] || HOLDER=a; }

# holder_is WHAT: the VIP reaches $HOLDER alone within 20 s and stays there 1 s.
holder_is() {
  vip_settle "$P" "$HOLDER" 20 1 >"$LAB_ROOT/settle.msg" || fail "$1: $(cat "$LAB_ROOT/settle.msg")"
}

daemon_running() { node_pid "$P" "$1" >/dev/null; }
sees_active() { [ "$(node_status_from "$P" "$1" "$2")" = active ]; }
vip_on() { [ "$(vip_holder "$P")" = "$1" ]; }

# both_active WHAT: each node reports the other active within 20 s.
both_active() {
  assert "$1: a reports b active" wait_for 20 sees_active a b
  assert "$1: b reports a active" wait_for 20 sees_active b a
}

# identity NODE: "uuid-hex generation".
identity() {
  echo "$(od -An -tx1 "$LAB_ROOT/$P/$1/lib/hb_uuid" | tr -d ' \n') $(generation "$P" "$1")"
}

# check_rejoin NODE UUID GEN WHAT: same uuid, generation GEN + 1.
check_rejoin() {
  local now
  now=$(identity "$1")
  assert_eq "$4: $1's uuid" "${now% *}" "$2"
  assert_eq "$4: $1's generation" "${now#* }" "$(($3 + 1))"
}

# upgrade_node NODE: the original -> ours.
# peer_logs_restart NODE COUNT WHAT: the other node logs "Heartbeat restart on node NODE" more than COUNT times
# (within 10 s): it saw NODE come back as the same node, restarted.
restarts_seen() { log_count "$(other_of "$1")" "Heartbeat restart on node $1"; }
peer_logs_restart() {
  assert "$3: $(other_of "$1") logs 'Heartbeat restart on node $1'" wait_for 10 log_count_above "$(other_of "$1")" \
    "Heartbeat restart on node $1" "$2"
}

upgrade_node() {
  local n=$1 id t0 sums seen
  seen=$(restarts_seen "$n")
  id=$(identity "$n")
  sums=$(admin_sums "$n")
  t0=$(now_ms)
  stop_node "$P" "$n"
  after_stop "$n"
  holder_is "upgrade $n: after the original's stop"
  note "upgrade $n: the original stopped in $(($(now_ms) - t0)) ms (VIP on $(vip_holder "$P"))"
  swap_files "$n" "$ORIG_ETC" "$DEST/etc/ha.d"
  ours_init "$n" start
  [ "$RC" = 0 ] || fail "upgrade $n: our init script's start: status $RC: $OUT"
  case $OUT in *"Starting High-Availability services: Done."*) ;; *) fail "upgrade $n: start said: $OUT" ;; esac
  echo ours >"$LAB_ROOT/$P/$n/impl"
  assert "upgrade $n: our daemon runs" wait_for 10 daemon_running "$n"
  both_active "upgrade $n"
  peer_logs_restart "$n" "$seen" "upgrade $n"
  after_start "$n"
  holder_is "upgrade $n: after our start"
  check_rejoin "$n" "${id% *}" "${id#* }" "upgrade $n"
  assert_eq "upgrade $n: the administrator's files" "$(admin_sums "$n")" "$sums"
  note "upgrade $n: ours runs, rejoined in $(($(now_ms) - t0)) ms from the stop: same uuid, generation ${id#* } -> $(generation "$P" "$n")"
}

# rollback_node NODE: ours -> the original.
rollback_node() {
  local n=$1 id t0 sums pid seen
  seen=$(restarts_seen "$n")
  id=$(identity "$n")
  sums=$(admin_sums "$n")
  pid=$(node_pid "$P" "$n") || fail "rollback $n: our daemon is not running"
  t0=$(now_ms)
  ours_init "$n" stop
  [ "$RC" = 0 ] || fail "rollback $n: our init script's stop: status $RC: $OUT"
  case $OUT in *"Stopping High-Availability services: Done."*) ;; *) fail "rollback $n: stop said: $OUT" ;; esac
  pid_alive "$pid" && fail "rollback $n: our daemon still runs after the init script's stop returned"
  after_stop "$n"
  holder_is "rollback $n: after our stop"
  note "rollback $n: ours stopped in $(($(now_ms) - t0)) ms (VIP on $(vip_holder "$P"))"
  swap_files "$n" "$DEST/etc/ha.d" "$ORIG_ETC"
  start_node "$P" "$n" orig
  both_active "rollback $n"
  peer_logs_restart "$n" "$seen" "rollback $n"
  after_start "$n"
  holder_is "rollback $n: after the original's start"
  check_rejoin "$n" "${id% *}" "${id#* }" "rollback $n"
  assert_eq "rollback $n: the administrator's files" "$(admin_sums "$n")" "$sums"
  note "rollback $n: the original runs, rejoined in $(($(now_ms) - t0)) ms from the stop: same uuid, generation ${id#* } -> $(generation "$P" "$n")"
}

# phase_report NAME: stop the pinger, print the client's lost time and check it against the windows.
phase_report() {
  local name=$1 summary lost gaps longest replies sent
  summary=$(client_ping_lost "$P") || fail "$name: the client got fewer than two replies"
  read -r lost gaps longest replies sent <<<"$(echo "$summary" | head -n 1)"
  if grep -q 'DUP!' "$LAB_ROOT/$P/ping.out"; then
    fail "$name: the client got duplicate replies: both nodes held the VIP at some moment"
  fi
  note "$name: the client lost $lost ms of pings in $gaps gap(s) (longest $longest ms; $replies replies to $sent requests):"
  echo "$summary" | tail -n +2
  [ "$longest" -le "$TAKEOVER_WINDOW_MS" ] ||
    fail "$name: a gap of $longest ms is longer than one takeover window ($TAKEOVER_WINDOW_MS ms)"
  [ "$lost" -le $((2 * TAKEOVER_WINDOW_MS)) ] ||
    fail "$name: $lost ms lost, more than one takeover window ($TAKEOVER_WINDOW_MS ms) per node"
  eval "LOST_$name=\$lost"
}

# --- the original cluster
start_node "$P" a orig
start_node "$P" b orig
both_active "start"
assert "the VIP lands on a" wait_for 25 vip_on a
vip_settle "$P" a 1 1 >/dev/null || fail "the VIP does not stay on a"
note "the original cluster serves the VIP from a"
# Past the first seconds, when a node announces a longer dead time (LAB.md).
sleep 5

# --- upgrade
client_ping_start "$P"
more_replies() { [ "$(ping_replies "$P")" -gt 10 ]; }
assert "the client gets replies" wait_for 5 more_replies
upgrade_node b
upgrade_node a
note "both nodes run ours; the VIP is on $(vip_holder "$P") (auto_failback $FAILBACK)"
sleep 1
phase_report upgrade

# --- rollback
sleep 2
client_ping_start "$P"
assert "the client gets replies" wait_for 5 more_replies
rollback_node b
rollback_node a
note "both nodes run the original again; the VIP is on $(vip_holder "$P")"
sleep 1
phase_report rollback

for n in a b; do
  log_has "$n" 'Both machines own|No one owns' && fail "$n logged a resource conflict"
done
stop_node "$P" b
stop_node "$P" a
note "PASS: rolling upgrade and rollback (auto_failback $FAILBACK); client lost ${LOST_upgrade:-?} ms during the upgrade and ${LOST_rollback:-?} ms during the rollback (limit $((2 * TAKEOVER_WINDOW_MS)) ms per phase, $TAKEOVER_WINDOW_MS ms per gap)"
