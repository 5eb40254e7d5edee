#!/usr/bin/env bash
# t-dopd.sh: DRBD's outdate-peer protection (issue #14): dopd respawned by heartbeat on both nodes
# (`respawn hacluster DOPD`, `apiauth dopd gid=haclient uid=hacluster`), a `drbdadm` stand-in first in
# the daemons' PATH (it records "USER ARGS" and exits with the status the test sets), and the
# outdate-peer handler drbd-peer-outdater run as DRBD runs it (root, DRBD_PEER and DRBD_RESOURCE).
#
# Passes (PASSES, default "ours/orig ours/ours", in parallel unless COMPAT_PARALLEL=0): node a runs the
# first implementation (daemon and dopd), b the second. "orig" is Debian's heartbeat 3.0.6 with its dopd
# and handler (2.0.8's messages); "ours" is our daemon with our dopd. In each pass, from each node to the
# other, with both handlers (ours and the original's; each node's dopd is reachable at its own socket and
# at 3.0.6's /run/heartbeat/dopd/outdater; from a node running the original dopd, four of the eight):
#   the peer's `drbdadm outdate RES` exits 0 / 17 / 5 / 1  ->  the handler exits 4 / 6 / 3 / 20,
#   and the peer ran exactly `drbdadm outdate RES` as hacluster;
#   asking for itself or for a node that does not exist -> 5 at once;
# then b is crashed and, once a has declared it dead, a's handler exits 5 at once (time printed).
# Debian's 3.0.6 dopd crashes after each handler that connected to it (a double free; heartbeat respawns
# it): the test waits for it to be back before the next handler on that node, and prints the count.
#
# Environment: DOPD_BIN, OUTDATER_BIN (ours; default target/release/dopd, drbd-peer-outdater),
# ORIG_DOPD_DIR (default /usr/libexec/heartbeat), PASSES, COMPAT_PARALLEL, LAB_KEEP.
set -u
. "$(dirname "$0")/lib.sh"
DOPD_BIN=${DOPD_BIN:-$REPO_DIR/target/release/dopd}
OUTDATER_BIN=${OUTDATER_BIN:-$REPO_DIR/target/release/drbd-peer-outdater}
ORIG_DOPD_DIR=${ORIG_DOPD_DIR:-/usr/libexec/heartbeat}
PASSES=${PASSES:-ours/orig ours/ours}
[ -x "$OURS_BIN" ] || skip "our daemon not built ($OURS_BIN)"
[ -x "$DOPD_BIN" ] || skip "our dopd not built ($DOPD_BIN): cargo build --release -p hb-dopd"
[ -x "$OUTDATER_BIN" ] || skip "our drbd-peer-outdater not built ($OUTDATER_BIN)"
case " $PASSES " in
*orig*) [ -x "$ORIG_DOPD_DIR/dopd" ] || fail "the original dopd is not installed ($ORIG_DOPD_DIR/dopd)" ;;
esac
# The original's handler and dopd meet at this socket (compiled into 3.0.6).
ORIG_SOCK=/var/run/heartbeat/dopd/outdater

# prepare_node P NODE IMPL: the stand-in, our programs, ha.cf with the respawn line.
prepare_node() {
  local P=$1 n=$2 impl=$3 d=$LAB_ROOT/$1/$2 dopd
  must mkdir -p "$d/etc/bin"
  cat >"$d/etc/bin/drbdadm" <<'EOF'
#!/bin/sh
# drbdadm stand-in for t-dopd.sh: records who asked for what, exits as the test says.
echo "$(id -un) $*" >>/run/heartbeat/drbdadm.calls
exit "$(cat /run/heartbeat/drbdadm.rc 2>/dev/null || echo 0)"
EOF
  must chmod 0755 "$d/etc/bin/drbdadm"
  must install -m 0755 "$DOPD_BIN" "$d/etc/bin/dopd"
  must install -m 0755 "$OUTDATER_BIN" "$d/etc/bin/drbd-peer-outdater"
  case $impl in
  ours)
    dopd=/etc/ha.d/bin/dopd
    # /var/run is a tmpfs: our daemon makes heartbeat/crm itself when it is missing.
    must rm -rf "$d/run/heartbeat/crm"
    ;;
  orig) dopd=$ORIG_DOPD_DIR/dopd ;;
  esac
  write_config "$n" resources= extra="respawn hacluster $dopd
apiauth dopd gid=haclient uid=hacluster"
}

# Debian's 3.0.6 dopd dies (SIGSEGV: it frees a handler's connection twice) after every handler that
# connected to it, and heartbeat respawns it: on a node running it, wait before each handler until a dopd
# runs that has opened its socket (its debug line "Waiting for messages..." is logged just before).
dopd_ready() {
  local P=$1 n=$2 f=$LAB_ROOT/$1/$2/lib/ha-debug starts waits pid
  starts=$(grep -c "Starting \"$ORIG_DOPD_DIR/dopd\" as uid" "$f")
  waits=$(grep -c 'dopd: .*Waiting for messages' "$f")
  [ "$starts" -gt 0 ] && [ "$starts" = "$waits" ] || return 1
  for pid in $(ip netns pids "$P-$n"); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dopd ] && return 0
  done
  return 1
}

# outdate P FROM TO RES HANDLER [ARGS]: run the handler on FROM as DRBD does; prints its status.
outdate() {
  local P=$1 from=$2 to=$3 res=$4 h=$5
  shift 5
  local bin
  case $h in
  ours) bin=/etc/ha.d/bin/drbd-peer-outdater ;;
  orig) bin=$ORIG_DOPD_DIR/drbd-peer-outdater ;;
  esac
  local orig_dopd=no rc
  [ "$(impl_of_node "$P" "$from")" = orig ] && orig_dopd=yes
  if [ $orig_dopd = yes ]; then
    wait_for 15 dopd_ready "$P" "$from" || fail "no original dopd ready on $from"
    sleep 0.2
  fi
  node_run "$P" "$from" env DRBD_PEER="$to" DRBD_RESOURCE="$res" timeout 90 "$bin" "$@" \
    >>"$LAB_ROOT/$P/$from/log/outdater.out" 2>&1
  rc=$?
  [ $orig_dopd = yes ] && sleep 0.5 # let it die before the next one looks
  echo $rc
}

run_pass() {
  local pass=$1 P=$2 impl_a=${1%/*} impl_b=${1#*/} from to q code res want got calls t0 ms h n
  lab_up "$P"
  prepare_node "$P" a "$impl_a"
  prepare_node "$P" b "$impl_b"
  (export PATH=/etc/ha.d/bin:$PATH; start_node "$P" a "$impl_a") || fail "start a"
  (export PATH=/etc/ha.d/bin:$PATH; start_node "$P" b "$impl_b") || fail "start b"
  for n in a b; do
    assert "dopd signed on at $n" wait_for 30 eval "[ \"\$(node_run $P $n /usr/bin/cl_status clientstatus $n dopd 2>/dev/null)\" = online ]"
  done
  # Our dopd listens at 2.0.8's socket; let the original handler find it at 3.0.6's too.
  for n in a b; do
    if [ "$(impl_of_node "$P" $n)" = ours ]; then
      assert_eq "$pass: /var/run/heartbeat/crm made by our daemon on $n" \
        "$(stat -c %U:%G:%a "$LAB_ROOT/$P/$n/run/heartbeat/crm")" hacluster:haclient:750
      assert "our dopd's socket on $n" wait_for 10 eval "[ -S $LAB_ROOT/$P/$n/run/heartbeat/crm/outdater ]"
      must ln -sf /var/run/heartbeat/crm/outdater "$LAB_ROOT/$P/$n/run/heartbeat/dopd/outdater"
    fi
  done
  local runs cases hc
  runs=0
  for from in a b; do
    to=b
    [ $from = b ] && to=a
    # Each handler run against the original dopd kills it (see above) and heartbeat gives up on a
    # client respawned 10 times in a row: there, fewer runs.
    if [ "$(impl_of_node "$P" $from)" = orig ]; then
      cases="ours:17 ours:1 orig:0 orig:5"
    else
      cases="ours:0 ours:17 ours:5 ours:1 orig:0 orig:17 orig:5 orig:1"
    fi
    for hc in $cases; do
      h=${hc%:*}
      code=${hc#*:}
      case $code in 0) want=4 ;; 17) want=6 ;; 5) want=3 ;; 1) want=20 ;; esac
      res=r$code$h
      echo "$code" >"$LAB_ROOT/$P/$to/run/heartbeat/drbdadm.rc"
      : >"$LAB_ROOT/$P/$to/run/heartbeat/drbdadm.calls"
      chown hacluster "$LAB_ROOT/$P/$to/run/heartbeat/drbdadm.calls"
      if [ $h = ours ] && [ "$(impl_of_node "$P" $from)" = orig ]; then
        got=$(outdate "$P" $from $to $res ours --socket $ORIG_SOCK)
      else
        got=$(outdate "$P" $from $to $res $h)
      fi
      assert_eq "$pass: $h handler on $from, $to's drbdadm exits $code" "$got" "$want"
      calls=$(cat "$LAB_ROOT/$P/$to/run/heartbeat/drbdadm.calls")
      assert_eq "$pass: what $to ran for $from's $h handler" "$calls" "hacluster outdate $res"
      runs=$((runs + 1))
    done
    for h in ours orig; do
      [ "$(impl_of_node "$P" $from)" = orig ] && [ $h = ours ] && continue
      for q in $from nosuch; do
        t0=$(now_ms)
        got=$(outdate "$P" $from $q r9 $h -t 20)
        ms=$(($(now_ms) - t0))
        assert_eq "$pass: $h handler on $from asking for peer '$q'" "$got" 5
        [ "$ms" -lt 10000 ] || fail "$pass: the answer for peer '$q' took $ms ms"
      done
    done
  done
  note "$pass: $runs outdates answered both ways with both handlers; self and unknown peers: 5"
  for n in a b; do
    if [ "$(impl_of_node "$P" $n)" = orig ]; then
      note "$pass: the original dopd on $n crashed $(grep -c 'dopd process .* killed by signal 11' "$LAB_ROOT/$P/$n/lib/ha-debug") times so far (after handlers that connected to it: Debian 3.0.6's bug) and was respawned"
    fi
  done
  crash_node "$P" b
  assert "$pass: a declares b dead" wait_for 10 log_has a "node b: is dead"
  for h in ours orig; do
    t0=$(now_ms)
    if [ $h = ours ] && [ "$impl_a" = orig ]; then
      got=$(outdate "$P" a b r0 ours -t 20 --socket $ORIG_SOCK)
    else
      got=$(outdate "$P" a b r0 $h -t 20)
    fi
    ms=$(($(now_ms) - t0))
    assert_eq "$pass: $h handler on a, peer b dead" "$got" 5
    [ "$ms" -lt 5000 ] || fail "$pass: the answer for a dead peer took $ms ms (want it at once)"
    note "$pass: $h handler, dead peer: exit 5 after $ms ms"
  done
  stop_node "$P" a
  note "PASS $pass"
}

base=d$$
base=${base:0:8}
status=0
i=0
if [ "${COMPAT_PARALLEL:-1}" = 1 ]; then
  pids=
  for pass in $PASSES; do
    i=$((i + 1))
    (run_pass "$pass" "$base$i") >"$LAB_ROOT/out.$i" 2>&1 &
    pids="$pids $!"
    lab_bg $!
  done
  for p in $pids; do wait "$p" || status=1; done
  i=0
  for pass in $PASSES; do
    i=$((i + 1))
    echo "===== pass $pass ====="
    cat "$LAB_ROOT/out.$i"
  done
else
  for pass in $PASSES; do
    i=$((i + 1))
    (run_pass "$pass" "$base$i") || status=1
  done
fi
[ "$status" = 0 ] || { LAB_FAILED=1; exit 1; }
note "PASS t-dopd"
