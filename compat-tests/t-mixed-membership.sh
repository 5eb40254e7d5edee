#!/usr/bin/env bash
# t-mixed-membership.sh: membership between node a (IMPL_A) and node b (IMPL_B), for every authentication
# method (crc, md5, sha1) and every medium (ucast, bcast, mcast). Default: a runs the original, b runs ours.
#
# For each (auth, medium):
#   1. both start; each reports the other active: `cl_status nodestatus PEER` on an original node, and on any
#      node the log line "Status update for node PEER: status active"; `heartbeat -s` says running;
#   2. b is killed (links down + SIGKILL): a logs "node b: is dead" within deadtime + 1 s;
#   3. b restarts: a logs "Heartbeat restart on node b", b's hb_generation grew, a sees b active again;
#   4. the same with the roles swapped (a killed, b must declare it dead; a restarts and rejoins);
#   5. wrong keys (md5/sha1: different keys; crc, which has no key: different key indexes): neither side
#      reports the other active within initdead + 3 s, and each original node logs an authentication failure.
# The three media run in parallel, each in its own lab, so that the whole test stays under two minutes.
#
# Run as root:
#   bash compat-tests/t-mixed-membership.sh                        # a=orig, b=ours (needs our daemon built)
#   IMPL_A=orig IMPL_B=orig bash compat-tests/t-mixed-membership.sh   # the original on both sides
#   IMPL_A=ours IMPL_B=orig ...;  AUTHS="md5" MEDIA="ucast" ...;  OURS_BIN=/path/to/heartbeat ...
#   COMPAT_PARALLEL=0 runs the media one after the other.
set -u
. "$(dirname "$0")/lib.sh"

IMPL_A=${IMPL_A:-orig}
IMPL_B=${IMPL_B:-ours}
AUTHS=${AUTHS:-crc md5 sha1}
MEDIA=${MEDIA:-ucast bcast mcast}
DEADTIME_MS=1000
INITDEAD_MS=2000
AUTH_FAIL_RE='failed authentication|authtoken does not match|netstring authentication failed|Invalid authentication'

for impl in "$IMPL_A" "$IMPL_B"; do
  case $impl in
  orig) ;;
  ours)
    if [ ! -x "$OURS_BIN" ]; then
      if [ "$OURS_BIN" = "$REPO_DIR/target/release/heartbeat" ]; then
        skip "our daemon not built (target/release/heartbeat)"
      fi
      skip "our daemon not built ($OURS_BIN)"
    fi
    ;;
  *) fail "IMPL_A/IMPL_B must be orig or ours, not '$impl'" ;;
  esac
done

impl_of() { if [ "$1" = a ]; then echo "$IMPL_A"; else echo "$IMPL_B"; fi; }
peer_of() { if [ "$1" = a ]; then echo b; else echo a; fi; }

key_for() { # key_for AUTH SIDE: the key of a node; SIDE "bad" gives a different key
  case $1 in
  crc) echo "" ;;
  *) if [ "$2" = bad ]; then echo "wrong-$1-key"; else echo "Compat-$1-key"; fi ;;
  esac
}

# The checks below use the current lab $P (set per medium).

# reports_active NODE PEER: NODE says PEER is active. An original node is asked through cl_status; any node
# must also have logged the status change (our daemon writes the original's log lines). MARK is the number of
# such log lines before the event we wait for.
reports_active() {
  local n=$1 peer=$2 mark=${3:-0}
  log_count_above "$n" "Status update for node $peer: status active" "$mark" || return 1
  if [ "$(impl_of "$n")" = orig ]; then
    [ "$(node_status_from "$P" "$n" "$peer")" = active ] || return 1
  fi
  return 0
}

# daemon_says_running NODE: `heartbeat -s` of the node's implementation exits 0.
daemon_says_running() {
  node_run "$P" "$1" "$(impl_bin "$(impl_of "$1")")" -s >/dev/null 2>&1
}

# stop_both: end a phase; SIGKILL is enough here (the next phase starts from fresh logs).
stop_both() {
  local n
  for n in a b; do [ -z "$(node_procs "$P" "$n")" ] || crash_node "$P" "$n"; done
  for n in a b; do revive_node "$P" "$n"; done
}

# rotate_logs TAG: keep this phase's logs as ha-log.TAG (and daemon.out.TAG) and start the next one empty.
rotate_logs() {
  local n d
  for n in a b; do
    d=$LAB_ROOT/$P/$n
    [ ! -f "$d/lib/ha-log" ] || mv "$d/lib/ha-log" "$d/lib/ha-log.$1"
    [ ! -f "$d/lib/ha-debug" ] || mv "$d/lib/ha-debug" "$d/lib/ha-debug.$1"
    [ ! -f "$d/log/daemon.out" ] || mv "$d/log/daemon.out" "$d/log/daemon.out.$1"
  done
}

# kill_and_measure VICTIM: crash VICTIM, the survivor must log "node VICTIM: is dead" within deadtime + 1 s.
kill_and_measure() {
  local victim=$1 survivor t0 ms before
  survivor=$(peer_of "$victim")
  before=$(log_count "$survivor" "node $victim: is dead")
  t0=$(now_ms)
  crash_node "$P" "$victim"
  wait_for 3 log_count_above "$survivor" "node $victim: is dead" "$before" ||
    fail "$survivor ($(impl_of "$survivor")) did not log 'node $victim: is dead' within 3 s of the kill"
  ms=$(($(now_ms) - t0))
  [ "$ms" -le $((DEADTIME_MS + 1000)) ] ||
    fail "$survivor declared $victim dead only after $ms ms (limit deadtime + 1 s = $((DEADTIME_MS + 1000)) ms)"
  note "$COMBO: $survivor ($(impl_of "$survivor")) declared $victim dead $ms ms after the kill"
}

# restart_and_rejoin NODE: NODE starts again; its peer logs the restart and sees it active; generation grew.
restart_and_rejoin() {
  local n=$1 peer gen_before gen_after restarts actives
  peer=$(peer_of "$n")
  gen_before=$(generation "$P" "$n")
  restarts=$(log_count "$peer" "Heartbeat restart on node $n")
  actives=$(log_count "$peer" "Status update for node $n: status active")
  revive_node "$P" "$n"
  start_node "$P" "$n" "$(impl_of "$n")"
  assert "$COMBO: $peer logs 'Heartbeat restart on node $n'" \
    wait_for 10 log_count_above "$peer" "Heartbeat restart on node $n" "$restarts"
  assert "$COMBO: $peer reports the restarted $n active" wait_for 10 reports_active "$peer" "$n" "$actives"
  gen_after=$(generation "$P" "$n")
  [ "$gen_after" -gt "$gen_before" ] ||
    fail "$COMBO: $n's hb_generation did not grow across the restart ($gen_before -> $gen_after)"
  note "$COMBO: $n restarted and rejoined (generation $gen_before -> $gen_after)"
}

# one_combo AUTH MEDIUM: steps 1-5 of the header in the current lab.
one_combo() {
  local auth=$1 medium=$2 n t_start ka kb ia ib end
  COMBO="$auth/$medium"

  # 1. membership
  rotate_logs "pre-$auth"
  for n in a b; do
    write_config "$n" auth="$auth" key="$(key_for "$auth" good)" medium="$medium"
  done
  start_node "$P" a "$IMPL_A"
  start_node "$P" b "$IMPL_B"
  t_start=$(now_ms)
  assert "$COMBO: a ($IMPL_A) reports b active" wait_for 10 reports_active a b
  assert "$COMBO: b ($IMPL_B) reports a active" wait_for 10 reports_active b a
  assert "$COMBO: a's heartbeat -s says running" daemon_says_running a
  assert "$COMBO: b's heartbeat -s says running" daemon_says_running b
  note "$COMBO: a ($IMPL_A) and b ($IMPL_B) see each other active"

  # Each node announces deadtime + 2 s for its first 5 s (PROTOCOL.md 5.3): wait until both announce plain
  # deadtime before timing a death.
  while [ $(($(now_ms) - t_start)) -lt 6500 ]; do sleep 0.2; done

  # 2-3. b dies, a notices; b comes back.
  kill_and_measure b
  restart_and_rejoin b
  # 4. the other way round: let b settle (its dt drops to deadtime 5 s after its start) before it judges a.
  sleep 1
  kill_and_measure a
  restart_and_rejoin a
  stop_both
  rotate_logs "$auth-good"

  # 5. wrong keys.
  if [ "$auth" = crc ]; then
    ka="key=" kb="key=" ia=authidx=1 ib=authidx=2
  else
    ka="key=$(key_for "$auth" good)" kb="key=$(key_for "$auth" bad)" ia=authidx=1 ib=authidx=1
  fi
  write_config a auth="$auth" "$ka" "$ia" medium="$medium"
  write_config b auth="$auth" "$kb" "$ib" medium="$medium"
  start_node "$P" a "$IMPL_A"
  start_node "$P" b "$IMPL_B"
  end=$(($(now_ms) + INITDEAD_MS + 3000))
  while [ "$(now_ms)" -lt "$end" ]; do
    ! reports_active a b || fail "$COMBO: with a wrong key, a still reports b active"
    ! reports_active b a || fail "$COMBO: with a wrong key, b still reports a active"
    sleep 0.3
  done
  for n in a b; do
    if [ "$(impl_of "$n")" = orig ]; then
      assert "$COMBO: the original on $n logs an authentication failure" log_has "$n" "$AUTH_FAIL_RE"
      case $(node_status_from "$P" "$n" "$(peer_of "$n")") in
      active | up) fail "$COMBO: with a wrong key, cl_status on $n reports its peer up/active" ;;
      esac
    fi
  done
  note "$COMBO: wrong keys: no membership for $(((INITDEAD_MS + 3000) / 1000)) s, authentication failures logged"
  stop_both
  rotate_logs "$auth-badkey"
}

# run_medium MEDIUM PREFIX: one lab, every auth method over that medium.
run_medium() {
  local medium=$1 auth
  P=$2
  lab_up "$P"
  note "medium $medium: lab $P"
  for auth in $AUTHS; do one_combo "$auth" "$medium"; done
  lab_down "$P"
  note "medium $medium: all checks passed"
}

note "a=$IMPL_A b=$IMPL_B auths=[$AUTHS] media=[$MEDIA] (our daemon: $OURS_BIN)"
base=m$$
base=${base:0:8}
status=0
if [ "${COMPAT_PARALLEL:-1}" = 1 ]; then
  pids=
  for medium in $MEDIA; do
    # each medium in a subshell with its own lab; a failure ends only that subshell (exit 1)
    (run_medium "$medium" "$base${medium:0:1}") >"$LAB_ROOT/out.$medium" 2>&1 &
    pids="$pids $!"
    lab_bg $!
  done
  for p in $pids; do wait "$p" || status=1; done
  for medium in $MEDIA; do
    echo "===== medium $medium ====="
    cat "$LAB_ROOT/out.$medium"
  done
else
  for medium in $MEDIA; do
    (run_medium "$medium" "$base${medium:0:1}") || status=1
  done
fi
if [ "$status" != 0 ]; then
  LAB_FAILED=1
  echo "FAIL: t-mixed-membership (a=$IMPL_A b=$IMPL_B); see the messages above" >&2
  exit 1
fi
note "PASS t-mixed-membership (a=$IMPL_A b=$IMPL_B)"
