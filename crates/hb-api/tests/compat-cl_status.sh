#!/usr/bin/env bash
# compat-cl_status.sh: our cl_status and the original's (/usr/bin/cl_status, Debian 3.0.6) side by side against
# the original daemon, in a two-node lab (compat-tests/lib.sh): a and b, ucast on eth1 (two lines, so two links
# named eth1 per node), ping node 198.51.100.100, ipfail respawned, haresources "a IPaddr::...".
#
# For every command line both tools are run on node a; stdout, the exit status and stderr (the log prefix of each
# line removed, glibc's program name removed) must be equal, except for the listed differences between the 2.0.8
# tool (ours) and the 3.0.6 one, where ours must give what 2.0.8 gives.
#
# With PROBE_BIN (the hb-api compat test binary) it also records the original daemon's raw replies to every
# request (OUT_DIR/orig-replies.txt) for the Rust test to compare with our server's.
#
# Environment: OURS_CL_STATUS (required: our cl_status), PROBE_BIN, OUT_DIR (default: in the lab directory).
# Run as root: OURS_CL_STATUS=target/debug/cl_status bash crates/hb-api/tests/compat-cl_status.sh  (about 40 s)
set -u
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
# shellcheck source=../../../compat-tests/lib.sh
. "$REPO/compat-tests/lib.sh"

OURS=${OURS_CL_STATUS:-}
{ [ -n "$OURS" ] && [ -x "$OURS" ]; } || fail "OURS_CL_STATUS must name our built cl_status (got '$OURS')"
OUT_DIR=${OUT_DIR:-$LAB_ROOT/out}
mkdir -p "$OUT_DIR" || fail "cannot make $OUT_DIR"
ORIG_CL=/usr/bin/cl_status

P=api$$
P=${P:0:10}
lab_up "$P"
extra='ping 198.51.100.100
respawn hacluster /usr/libexec/heartbeat/ipfail
apiauth ipfail gid=haclient uid=hacluster'
write_config a auth=crc medium=ucast auto_failback=on extra="$extra"
write_config b auth=crc medium=ucast auto_failback=on extra="$extra"
start_node "$P" a orig
start_node "$P" b orig
note "original daemons started on a and b"

on_a() { node_run "$P" a timeout 10 "$@"; }
says() { [ "$(on_a "$ORIG_CL" "${@:2}" 2>/dev/null)" = "$1" ]; }
assert "a sees b active" wait_for 15 says active nodestatus b
assert "a sees the ping node" wait_for 15 says ping nodestatus 198.51.100.100
assert "ipfail is signed on at a" wait_for 15 says online clientstatus a ipfail
assert "ipfail is signed on at b" wait_for 15 says online clientstatus b ipfail
assert "the VIP settles on a" vip_settle "$P" a 30 2
assert "a's resources are stable" wait_for 15 says local rscstatus
note "cluster settled"

W=$LAB_ROOT/$P/cmp
mkdir -p "$W"
MISMATCH=0
N=0

# norm_err FILE: stderr with each log line's prefix (time, host, program, pid) cut before "ERROR: ", glibc's
# program name cut before ": invalid option", and the 2.0.8 library's double space in one message made single.
norm_err() {
  sed -E -e 's/^.* ERROR: /ERROR: /' -e 's#^[^ ]*cl_status: (invalid option|option requires)#cl_status: \1#' \
    -e 's/connection  to heartbeat/connection to heartbeat/' "$1"
}

# run_pair ARGS...: both tools on a; results in $W/{o,u}.{out,err,rc}.
run_pair() {
  on_a "$ORIG_CL" "$@" >"$W/o.out" 2>"$W/o.err.raw"
  echo $? >"$W/o.rc"
  on_a "$OURS" "$@" >"$W/u.out" 2>"$W/u.err.raw"
  echo $? >"$W/u.rc"
  norm_err "$W/o.err.raw" >"$W/o.err"
  norm_err "$W/u.err.raw" >"$W/u.err"
  N=$((N + 1))
}

show() {
  local who=$1
  printf '    %s: exit %s, stdout %s, stderr %s\n' "$who" "$(cat "$W/$2.rc")" \
    "$(od -An -c "$W/$2.out" | tr -s ' ' | head -c 300)" "$(head -c 300 "$W/$2.err" | tr '\n' '|')"
}

# same ARGS...: identical results required.
same() {
  run_pair "$@"
  if cmp -s "$W/o.out" "$W/u.out" && cmp -s "$W/o.rc" "$W/u.rc" && cmp -s "$W/o.err" "$W/u.err"; then
    printf 'same      cl_status %s\n' "$*"
  else
    MISMATCH=$((MISMATCH + 1))
    printf 'MISMATCH  cl_status %s\n' "$*"
    show original o
    show ours u
  fi
}

# known 'WHY' RC 'STDOUT' 'STDERR-REGEX' ARGS...: a difference between 2.0.8 and 3.0.6; ours must give RC and
# STDOUT (printf format) and stderr matching the extended regex (whole normalized stderr on one line, '|' per
# newline; empty regex: empty stderr).
known() {
  local why=$1 rc=$2 out=$3 errre=$4
  shift 4
  run_pair "$@"
  local want_out uerr
  # shellcheck disable=SC2059 # the expected output is given as a printf format on purpose
  want_out=$(printf "$out")
  uerr=$(tr '\n' '|' <"$W/u.err")
  if [ "$(cat "$W/u.rc")" = "$rc" ] && [ "$(cat "$W/u.out")" = "$want_out" ] &&
    { { [ -z "$errre" ] && [ -z "$uerr" ]; } || { [ -n "$errre" ] && printf '%s' "$uerr" | grep -Eq -- "$errre"; }; }; then
    printf 'known     cl_status %s  (%s)\n' "$*" "$why"
    show "  original" o
  else
    MISMATCH=$((MISMATCH + 1))
    printf 'MISMATCH  cl_status %s  (expected the 2.0.8 behaviour: %s)\n' "$*" "$why"
    show original o
    show ours u
  fi
}

same hbstatus
same listnodes
same listnodes -p
same listnodes -n
same listnodes -n -p
same listnodes -m
same nodestatus a
same nodestatus b
same nodestatus 198.51.100.100
same nodestatus -m b
same nodestatus b -m
same nodestatus zz
same nodestatus
same nodeweight a
same nodeweight -m b
same nodeweight zz
same nodesite a
same nodesite -m a
same nodetype a
same nodetype 198.51.100.100
same nodetype -m b
same nodetype zz
same nodetype
same listhblinks 198.51.100.100
known "2.0.8 says 'this node have'; 3.0.6 'has'" 0 '\tthis node have the following heartbeat links:\n\t198.51.100.100\n' '' \
  listhblinks -m 198.51.100.100
known "3.0.6's library gives the daemon's info (EINVAL) as the reason; 2.0.8's gives none" 13 '' \
  '^ERROR: Cannot start heartbeat link interface walk\.\|ERROR: REASON: \|$' listhblinks zz
same hblinkstatus a eth1
same hblinkstatus b eth1
same hblinkstatus -m b eth1
same hblinkstatus 198.51.100.100 198.51.100.100
same hblinkstatus b eth9
same hblinkstatus b
same clientstatus a ipfail
same clientstatus b ipfail
same clientstatus b ipfail 2000
same clientstatus a nosuch
same clientstatus b nosuch 500
same clientstatus a
same rscstatus
same rscstatus -m
same hbparameter -p keepalive
same hbparameter -p deadtime
same hbparameter -p auto_failback
same hbparameter -p udpport
same hbparameter -p initdead
same hbparameter -p warntime
known "3.0.6's library answers hbversion from its sign-on reply ('3.0.6 (node: UUID)'); 2.0.8's asks getparm" 0 \
  '3.0.6\n' '' hbparameter -p hbversion
same hbparameter -m -p keepalive
same hbparameter -pkeepalive
same hbparameter -p nosuch
same hbparameter
same test
same bogus
HELP208=$(sed -n '/^pub const HELP/,/";$/p' "$REPO/crates/hb-api/src/cl_status.rs" |
  sed -e '1s/^[^"]*"//' -e 's/\\$//' -e '$s/";$//' | tr -d '\n')
known "the help text of 2.0.8 (3.0.6 lists more sub-commands)" 0 "$HELP208" '' -h
known "the help text of 2.0.8 (3.0.6 lists more sub-commands)" 0 "$HELP208" ''
known "2.0.8's library lists both links named eth1; 3.0.6's lists one" 0 '\teth1\n\teth1\n' '' listhblinks a
known "2.0.8 says 'Cannot get client X's status'; 3.0.6 'heartbeat client'" 13 '' \
  '^ERROR: Cannot get client ipfail.s status\|ERROR: REASON: \|$' clientstatus zz ipfail 300
known "2.0.8 goes on after a bad option (here to 'Not enough parameters.': getopt stopped before b); 3.0.6 stops" \
  11 '' "^cl_status: invalid option -- 'x'\|ERROR: Error: getopt returnedcharacter code \?\.\|Not enough parameters\.\|$" \
  nodestatus -x b
known "2.0.8 says 'returnedcharacter code'; 3.0.6 'returned character'" 11 '' \
  "^cl_status: invalid option -- 'x'\|ERROR: Error: getopt returnedcharacter code \?\.\|$" listnodes -x

# The original daemon's raw replies to every request, for the Rust test to compare with ours.
if [ -n "${PROBE_BIN:-}" ]; then
  node_run "$P" a env HB_API_PROBE_SOCKET=/run/heartbeat/register HB_API_PROBE_OUT="$OUT_DIR/orig-replies.txt" \
    timeout 60 "$PROBE_BIN" --exact probe_dump --ignored --nocapture --test-threads=1 >"$W/probe.log" 2>&1 ||
    fail "the probe failed: $(tail -5 "$W/probe.log")"
  [ -s "$OUT_DIR/orig-replies.txt" ] || fail "the probe wrote nothing"
  note "original's replies recorded in $OUT_DIR/orig-replies.txt"
fi

# Without a daemon.
stop_node "$P" b
stop_node "$P" a
note "daemons stopped"
same hbstatus
same listnodes
same nodestatus a
same clientstatus a ipfail
known "2.0.8's command table runs hbparameter without a sign-on; 3.0.6 refuses it" 1 '' \
  "^ERROR: Cannot get parameter keepalive.s value\|ERROR: REASON: not signed on\|$" hbparameter -p keepalive

echo "$N command lines compared, $MISMATCH unexpected difference(s)"
[ "$MISMATCH" = 0 ] || fail "$MISMATCH command line(s) differ"
