#!/usr/bin/env bash
# compat-tests/t-export-cib.sh -- `heartbeat --export-cib` against Pacemaker's own tools (issue #15).
#
# For several /etc/ha.d configurations (two nodes with auto_failback on and off, Pacemaker 2 and 1.1
# output, three nodes, fencing devices, resources that do not map), the exported CIB must:
#   1. pass `crm_verify --xml-file CIB -V` as written: no error; the only warnings allowed are the
#      fencing of nodes never seen, when fencing is on (a CIB without a status section);
#   2. under `crm_simulate` put every group where heartbeat puts it: both (all) nodes up: each group on
#      its node; the preferred node fails: the group on the peer (with more nodes: the next node in
#      ha.cf order); the preferred node returns: back with auto_failback on (and legacy), stays away
#      with off; a cluster started without the preferred node: the group on the peer;
#   3. pass crm_verify with no warning at all once the nodes are up (crm_simulate's saved state).
# Two-node quorum: the Pacemaker 2 CIB relies on corosync's two_node (the survivor keeps quorum,
# simulated with --quorum=1; without it the groups stop, which is why the export says to set it);
# the Pacemaker 1.1 CIB's no-quorum-policy=ignore keeps the groups on a survivor without quorum.
#
# 4. load with `cibadmin --replace --xml-file` over a new cluster's CIB (the file backend, CIB_file).
# Needs crm_verify, crm_simulate and cibadmin (Debian: pacemaker-cli-utils) and resource-agents; root is not
# needed. Missing tools or an unbuilt daemon: a loud SKIP. OURS_BIN: the daemon (default
# target/release/heartbeat). Takes a few seconds.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
BIN=${OURS_BIN:-$REPO/target/release/heartbeat}
T=
FAILED=0
CHECKS=0

skip() {
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!!! SKIP: $*"
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  exit 0
}

fail() {
  FAILED=1
  echo "FAIL: $*" >&2
  exit 1
}

cleanup() {
  [ -n "$T" ] || return 0
  if [ "$FAILED" = 0 ] && [ "${LAB_KEEP:-0}" != 1 ]; then rm -rf "$T"; else echo "kept $T" >&2; fi
}
trap cleanup EXIT
trap 'FAILED=1' ERR

for t in crm_verify crm_simulate cibadmin; do
  command -v "$t" >/dev/null || skip "$t not found: install pacemaker-cli-utils to test the Pacemaker export"
done
[ -x "$BIN" ] || skip "our daemon not built ($BIN)"
[ -x /usr/lib/ocf/resource.d/heartbeat/IPaddr2 ] ||
  skip "resource-agents not installed (/usr/lib/ocf/resource.d/heartbeat)"
T=$(mktemp -d "${LAB_TMP:-/tmp}/t-export-cib.XXXXXX")
echo "Pacemaker tools: $(crm_verify --version 2>&1 | head -n 1)"

# conf NAME HACF HARESOURCES [CHECKS]: a configuration directory $T/NAME/etc.
conf() {
  local d=$T/$1/etc
  mkdir -p "$d"
  printf '%b' "$2" >"$d/ha.cf"
  printf '%b' "$3" >"$d/haresources"
  printf 'auth 1\n1 sha1 export-test\n' >"$d/authkeys"
  chmod 600 "$d/authkeys"
  if [ $# -ge 4 ]; then printf '%b' "$4" >"$d/checks"; fi
}

# export_cib NAME TARGET: $T/NAME/cib-TARGET.xml, and the report beside it.
export_cib() {
  local out=$T/$1/cib-$2.xml rc=0
  "$BIN" --export-cib --pacemaker "$2" --config-dir "$T/$1/etc" >"$out" 2>"$out.report" || rc=$?
  [ "$rc" = 0 ] || { cat "$out.report" >&2; fail "$1: heartbeat --export-cib --pacemaker $2 exited $rc"; }
  grep -q '^CIB written:' "$out.report" || fail "$1: no summary in the report"
}

# verify_raw NAME TARGET FENCING(0|1): crm_verify on the CIB as written.
verify_raw() {
  local f=$T/$1/cib-$2.xml out rc=0 bad
  out=$(crm_verify --xml-file "$f" -V 2>&1) || rc=$?
  if [ "$3" = 0 ]; then
    [ "$rc" = 0 ] && [ -z "$out" ] || fail "$1 ($2): crm_verify -V: rc=$rc: $out"
  else
    bad=$(printf '%s\n' "$out" | grep -v -e 'warning: Scheduling node .* for fencing' \
      -e 'Warnings found during check: config may not be valid' -e '^$' || true)
    [ -z "$bad" ] || fail "$1 ($2): crm_verify -V: $out"
    printf '%s\n' "$out" | grep -q 'error' && fail "$1 ($2): crm_verify reports an error: $out"
  fi
  CHECKS=$((CHECKS + 1))
  if [ "$3" = 0 ]; then
    echo "ok   $1 ($2): crm_verify -V accepts the CIB as written, no warning"
  else
    echo "ok   $1 ($2): crm_verify -V accepts the CIB as written (warns only of fencing the unseen nodes)"
  fi
}

# verify_clean FILE DESC: crm_verify -V with no output at all.
verify_clean() {
  local out rc=0
  out=$(crm_verify --xml-file "$1" -V 2>&1) || rc=$?
  [ "$rc" = 0 ] && [ -z "$out" ] || fail "$2: crm_verify -V: rc=$rc: $out"
  CHECKS=$((CHECKS + 1))
  echo "ok   $2: crm_verify has no warning with the nodes up"
}

# sim IN OUT ARGS...: simulate from IN with ARGS, save the resulting state in OUT (+ OUT.txt).
sim() {
  local in=$1 out=$2
  shift 2
  crm_simulate --xml-file "$in" --simulate "$@" --save-output "$out" >"$out.txt" 2>&1 ||
    { cat "$out.txt" >&2; fail "crm_simulate $* on $in failed"; }
}

# rejoin IN OUT NODE ARGS...: NODE comes back after a failure, as it does in a real cluster: its
# probes find nothing running (crm_simulate keeps a failed node's old history otherwise, and
# would take the resources for active on two nodes).
rejoin() {
  local in=$1 out=$2 node=$3 r inj=()
  shift 3
  for r in $(grep -o '<primitive id="[^"]*"' "$in" | sed 's/.*id="//;s/"$//'); do
    inj+=("--op-inject=${r}_monitor_0@${node}=7")
  done
  sim "$in" "$out" "--node-up=$node" "${inj[@]}" "$@"
}

# where FILE RSC: the node RSC runs on in FILE's state, or "stopped".
where() {
  local line
  [ -s "$1.status" ] || crm_simulate --xml-file "$1" >"$1.status" 2>/dev/null
  line=$(grep -P "^\s+\* \Q$2\E\t" "$1.status" | head -n 1)
  [ -n "$line" ] || fail "resource $2 not in crm_simulate's output for $1"
  case $line in
  *" Started "*) echo "${line##* Started }" ;;
  *) echo stopped ;;
  esac
}

# expect DESC FILE NODE RSC...: every RSC runs on NODE (or is "stopped") in FILE's state.
expect() {
  local desc=$1 file=$2 node=$3 r got
  shift 3
  for r in "$@"; do
    got=$(where "$file" "$r")
    [ "$got" = "$node" ] || {
      sed -n '/Transition Summary/,$p' "$file.txt" >&2
      fail "$desc: $r is on '$got', expected '$node'"
    }
  done
  CHECKS=$((CHECKS + 1))
  echo "ok   $desc: $* on $node"
}

HACF2='ucast eth1 192.0.2.2\nkeepalive 1\ndeadtime 10\nnode alpha\nnode beta\nauto_failback %s\n'
HARES2='alpha IPaddr::198.51.100.254/24/eth0 Filesystem::/dev/sdb1::/data::ext3 postgresql\nbeta IPaddr2::198.51.100.253/24/eth0:web MailTo::root::failover\n'
GA="IPaddr_198.51.100.254 Filesystem_data postgresql"
GB="IPaddr2_198.51.100.253 MailTo_root"

# ---- two nodes: auto_failback on, off, legacy; Pacemaker 2 and 1.1 ----
for fb in on off legacy; do
  name=two-$fb
  # shellcheck disable=SC2059 # the format is ours
  conf "$name" "$(printf "$HACF2" "$fb")" "$HARES2" '198.51.100.254 tcp 127.0.0.1:5432 restarts=1\n'
  for target in 2 1.1; do
    export_cib "$name" "$target"
    cib=$T/$name/cib-$target.xml
    verify_raw "$name" "$target" 0
    # Pacemaker 2: corosync's two_node keeps the survivor quorate; 1.1: no-quorum-policy=ignore.
    if [ "$target" = 2 ]; then q=(--quorum=1); else q=(--quorum=0); fi
    d=$T/$name/p$target
    mkdir -p "$d"
    sim "$cib" "$d/up.xml" --node-up=alpha --node-up=beta "${q[@]}"
    expect "$name/$target both up" "$d/up.xml" alpha $GA
    expect "$name/$target both up" "$d/up.xml" beta $GB
    verify_clean "$d/up.xml" "$name/$target"
    sim "$d/up.xml" "$d/alpha-failed.xml" --node-fail=alpha "${q[@]}"
    expect "$name/$target alpha failed" "$d/alpha-failed.xml" beta $GA $GB
    rejoin "$d/alpha-failed.xml" "$d/alpha-back.xml" alpha "${q[@]}"
    if [ "$fb" = off ]; then
      expect "$name/$target alpha back (auto_failback off)" "$d/alpha-back.xml" beta $GA
    else
      expect "$name/$target alpha back (auto_failback $fb)" "$d/alpha-back.xml" alpha $GA
    fi
    expect "$name/$target alpha back" "$d/alpha-back.xml" beta $GB
    sim "$cib" "$d/beta-alone.xml" --node-up=beta "${q[@]}"
    expect "$name/$target started without alpha" "$d/beta-alone.xml" beta $GA $GB
    if [ "$target" = 2 ]; then
      # Without corosync's two_node the survivor has no quorum and stops everything.
      sim "$d/up.xml" "$d/noquorum.xml" --node-fail=alpha --quorum=0
      expect "$name/2 alpha failed, survivor without quorum" "$d/noquorum.xml" stopped $GA $GB
      grep -q 'two_node: 1' "$cib.report" || fail "$name: the report does not give corosync's two_node"
      grep -q 'no-quorum-policy' "$cib" && fail "$name: the Pacemaker 2 CIB sets no-quorum-policy"
    else
      grep -q 'name="no-quorum-policy" value="ignore"' "$cib" || fail "$name: 1.1 CIB without no-quorum-policy=ignore"
      grep -q 'validate-with="pacemaker-1.2"' "$cib" || fail "$name: 1.1 CIB not on schema pacemaker-1.2"
    fi
    grep -q 'name="stonith-enabled" value="false"' "$cib" || fail "$name: fencing not off"
    grep -q 'WARNING: no stonith lines in ha.cf' "$cib.report" || fail "$name: fencing off without a warning"
    grep -q 'WARNING: checks:1: tcp 127.0.0.1:5432' "$cib.report" || fail "$name: the check's mapping is not reported"
    grep -q 'name="migration-threshold" value="2"' "$cib" || fail "$name: restarts=1 is not migration-threshold=2"
  done
done

# ---- three nodes: the next node in ha.cf order takes a dead node's group ----
for fb in on off; do
  name=three-$fb
  conf "$name" "ucast eth1 192.0.2.2\nnode a\nnode b\nnode c\nauto_failback $fb\n" \
    "b IPaddr2::198.51.100.250/24 Delay::1::1\nc 198.51.100.251\na 198.51.100.252\n"
  export_cib "$name" 2
  cib=$T/$name/cib-2.xml
  verify_raw "$name" 2 0
  d=$T/$name/p2
  mkdir -p "$d"
  GBB="IPaddr2_198.51.100.250 Delay_1"
  sim "$cib" "$d/up.xml" --node-up=a --node-up=b --node-up=c --quorum=1
  expect "$name all up" "$d/up.xml" b $GBB
  expect "$name all up" "$d/up.xml" c IPaddr_198.51.100.251
  expect "$name all up" "$d/up.xml" a IPaddr_198.51.100.252
  verify_clean "$d/up.xml" "$name"
  sim "$d/up.xml" "$d/b-failed.xml" --node-fail=b --quorum=1
  expect "$name b failed: its group to c (next after b)" "$d/b-failed.xml" c $GBB
  # a alone: no majority, and no-quorum-policy=stop stops everything (heartbeat would go on: the
  # export says so); with the admin's no-quorum-policy=ignore (simulated: quorum kept) a takes all.
  sim "$d/b-failed.xml" "$d/c-failed.xml" --node-fail=c --quorum=0
  expect "$name b and c failed, a without quorum" "$d/c-failed.xml" stopped $GBB IPaddr_198.51.100.251 IPaddr_198.51.100.252
  sim "$d/b-failed.xml" "$d/c-failed-q.xml" --node-fail=c --quorum=1
  expect "$name b and c failed, a quorate" "$d/c-failed-q.xml" a $GBB IPaddr_198.51.100.251
  rejoin "$d/b-failed.xml" "$d/b-back.xml" b --quorum=1
  if [ "$fb" = on ]; then
    expect "$name b back (auto_failback on)" "$d/b-back.xml" b $GBB
  else
    expect "$name b back (auto_failback off)" "$d/b-back.xml" c $GBB
  fi
  sim "$cib" "$d/a-c.xml" --node-up=a --node-up=c --quorum=1
  expect "$name started without b" "$d/a-c.xml" c $GBB
  grep -q 'no-quorum-policy' "$cib" && fail "$name: no-quorum-policy set for three nodes"
done

# ---- fencing: stonith_host lines become devices, each kept on its node ----
name=fencing
conf "$name" "$(printf "$HACF2" on)\nstonith_host alpha external/ssh beta\nstonith_host beta external/ssh alpha\n" \
  "alpha 198.51.100.254 Filesystem::/dev/sdb1::/data::ext3\n"
for target in 2 1.1; do
  export_cib "$name" "$target"
  cib=$T/$name/cib-$target.xml
  verify_raw "$name" "$target" 1
  grep -q 'name="stonith-enabled" value="true"' "$cib" || fail "$name: fencing not on"
  grep -q 'class="stonith" type="external/ssh"' "$cib" || fail "$name: no stonith:external/ssh device"
  d=$T/$name/p$target
  mkdir -p "$d"
  if [ "$target" = 2 ]; then q=(--quorum=1); else q=(--quorum=0); fi
  sim "$cib" "$d/up.xml" --node-up=alpha --node-up=beta "${q[@]}"
  expect "$name/$target both up" "$d/up.xml" alpha IPaddr_198.51.100.254 Filesystem_data st_external_ssh_alpha
  expect "$name/$target both up" "$d/up.xml" beta st_external_ssh_beta
  verify_clean "$d/up.xml" "$name/$target"
  sim "$d/up.xml" "$d/alpha-failed.xml" --node-fail=alpha "${q[@]}"
  grep -q 'Fencing alpha' "$d/alpha-failed.xml.txt" || fail "$name/$target: alpha not fenced before the takeover"
  expect "$name/$target alpha failed (fenced)" "$d/alpha-failed.xml" beta IPaddr_198.51.100.254 Filesystem_data
  # The device alpha uses never runs on beta.
  expect "$name/$target alpha failed" "$d/alpha-failed.xml" stopped st_external_ssh_alpha
  CHECKS=$((CHECKS + 1))
  echo "ok   $name/$target: alpha fenced, then its group on beta"
done

# ---- what does not map: said, left out, and the rest still valid ----
name=unmapped
conf "$name" "$(printf "$HACF2" on)" \
  "alpha 198.51.100.254 myscript::a::b OCF::Dummy::one\nbeta drbddisk::r0\n"
mkdir -p "$T/$name/etc/resource.d" "$T/$name/etc/conf/OCF/Dummy"
printf '#!/bin/sh\nexit 0\n' >"$T/$name/etc/resource.d/myscript"
chmod 755 "$T/$name/etc/resource.d/myscript"
printf 'OCF_RESKEY_state=/run/hb-export-test.state\n' >"$T/$name/etc/conf/OCF/Dummy/one"
export_cib "$name" 2
cib=$T/$name/cib-2.xml
verify_raw "$name" 2 0
grep -q "WARNING: haresources:1: NOT MAPPED: 'myscript::a::b'" "$cib.report" || fail "$name: myscript not reported"
grep -q "WARNING: haresources:2: NOT MAPPED: 'drbddisk::r0'" "$cib.report" || fail "$name: drbddisk not reported"
grep -q '<!-- NOT MAPPED: myscript::a::b' "$cib" || fail "$name: no NOT MAPPED comment in the group"
grep -q 'type="Dummy"' "$cib" || fail "$name: OCF::Dummy::one not mapped"
d=$T/$name/p2
mkdir -p "$d"
sim "$cib" "$d/up.xml" --node-up=alpha --node-up=beta --quorum=1
expect "$name both up" "$d/up.xml" alpha IPaddr_198.51.100.254 Dummy_one
verify_clean "$d/up.xml" "$name"

# ---- loading: cibadmin --replace takes the CIB over a new cluster's (file backend) ----
for target in 2 1.1; do
  live=$T/two-on/live-$target.xml
  # A new cluster's CIB, after the DC's first updates have raised its epoch.
  cibadmin --empty | sed 's/ epoch="[0-9]*"/ epoch="12"/' >"$live"
  CIB_file=$live cibadmin --replace --xml-file "$T/two-on/cib-$target.xml" ||
    fail "cibadmin --replace refused the $target CIB"
  grep -q '<group id="grp_IPaddr_198.51.100.254"' "$live" || fail "cibadmin --replace: the $target groups are not in the CIB"
  out=$(crm_verify --xml-file "$live" -V 2>&1) || fail "crm_verify of the loaded $target CIB: $out"
  [ -z "$out" ] || fail "crm_verify of the loaded $target CIB: $out"
  CHECKS=$((CHECKS + 1))
  echo "ok   two-on ($target): cibadmin --replace --xml-file loads it over a new cluster's CIB (epoch 12)"
done

# ---- the guide's hbscript agent runs a v1 script as heartbeat did ----
agent=$T/hbscript
sed -n '/<!-- begin hbscript/,/<!-- end hbscript/p' "$REPO/docs/MIGRATING-TO-PACEMAKER.md" |
  sed '1,2d;$d' | sed '$d' >"$agent"
head -n 1 "$agent" | grep -q '^#!/bin/sh' || fail "hbscript: not found in docs/MIGRATING-TO-PACEMAKER.md"
chmod 755 "$agent"
cat >"$T/v1script" <<EOF
#!/bin/sh
# A v1 resource script: A B start|stop|status, its state in a file.
echo "\$*" >>"$T/v1script.calls"
[ \$# = 3 ] || { echo "usage: v1script A B op"; exit 1; }
case \$3 in
start) touch "$T/v1script.state" ;;
stop) rm -f "$T/v1script.state" ;;
status) if [ -e "$T/v1script.state" ]; then echo "v1script is running"; else echo "v1script is not running"; fi ;;
esac
EOF
chmod 755 "$T/v1script"
hbs() {
  local rc=0
  OCF_RESKEY_script=${SCRIPT:-$T/v1script} OCF_RESKEY_args="a b" "$agent" "$1" >/dev/null 2>&1 || rc=$?
  echo "$rc"
}
assert_rc() { [ "$2" = "$3" ] || fail "hbscript $1: exit $2, expected $3"; }
assert_rc "monitor (stopped)" "$(hbs monitor)" 7
assert_rc "stop (stopped)" "$(hbs stop)" 0
assert_rc start "$(hbs start)" 0
[ -e "$T/v1script.state" ] || fail "hbscript start did not run the script's start"
grep -qx 'a b start' "$T/v1script.calls" || fail "hbscript did not pass the arguments: $(cat "$T/v1script.calls")"
assert_rc "monitor (started)" "$(hbs monitor)" 0
assert_rc "start (started)" "$(hbs start)" 0
assert_rc stop "$(hbs stop)" 0
[ ! -e "$T/v1script.state" ] || fail "hbscript stop did not run the script's stop"
assert_rc "monitor (stopped again)" "$(hbs monitor)" 7
assert_rc "monitor (no script)" "$(SCRIPT=$T/none hbs monitor)" 5
"$agent" meta-data | python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.stdin)' ||
  fail "hbscript meta-data is not well-formed XML"
CHECKS=$((CHECKS + 1))
echo "ok   the guide's hbscript agent: start, monitor, stop of a v1 script with its arguments; meta-data"

# ---- a configuration heartbeat refuses is refused ----
conf bad "ucast eth1 192.0.2.2\nnode alpha\n" "gamma 10.0.0.1\n"
rc=0
"$BIN" --export-cib --config-dir "$T/bad/etc" >"$T/bad/out" 2>"$T/bad/err" || rc=$?
[ "$rc" = 6 ] || fail "a refused configuration: exit $rc, expected 6"
[ ! -s "$T/bad/out" ] || fail "a refused configuration still printed a CIB"
grep -q 'Bad nodename' "$T/bad/err" || fail "a refused configuration: the error is not printed"
CHECKS=$((CHECKS + 1))
echo "ok   a configuration heartbeat refuses: exit 6, no CIB"

echo "PASS: t-export-cib.sh: $CHECKS checks"
