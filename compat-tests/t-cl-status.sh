#!/usr/bin/env bash
# t-cl-status.sh: the client API, differentially. Two labs with the same shape: lab 1 runs the
# original on both nodes, lab 2 runs ours on a and the original on b. Once each has settled
# (VIP on a), every cl_status command below must give the same text and exit status:
#   - the original's /usr/bin/cl_status asked of our daemon (lab 2, on a) as of the original (lab 1, on a);
#   - our cl_status (installed setgid haclient, mode 2555, as the package does) asked of our
#     daemon, against the original's cl_status asked of the original (listhblinks: 2.0.8's
#     repetition of a link named by two medium lines aside).
set -u
. "$(dirname "$0")/lib.sh"
OURS_CL=${OURS_CL:-$REPO_DIR/target/release/cl_status}
[ -x "$OURS_BIN" ] || skip "our daemon not built ($OURS_BIN)"
[ -x "$OURS_CL" ] || skip "our cl_status not built ($OURS_CL)"
getent group haclient >/dev/null || skip "no haclient group (install the heartbeat package)"

L1=o$$
L1=${L1:0:9}1
L2=${L1%1}2
lab_up "$L1"
for n in a b; do write_config $n auth=md5 key=api-key medium=ucast auto_failback=on; done
start_node "$L1" a orig
start_node "$L1" b orig
lab_up "$L2"
for n in a b; do write_config $n auth=md5 key=api-key medium=ucast auto_failback=on; done
start_node "$L2" a ours
start_node "$L2" b orig
for P in "$L1" "$L2"; do
  out=$(LAB_P=$P vip_settle "$P" a 30 2) || fail "$P: $out"
done
sleep 2
cl=$LAB_ROOT/cl_status
cp "$OURS_CL" "$cl"
chgrp haclient "$cl" && chmod 2555 "$cl"

n=0
while IFS= read -r cmd; do
  [ -n "$cmd" ] || continue
  # shellcheck disable=SC2086 # the command's words
  want=$(node_run "$L1" a /usr/bin/cl_status $cmd 2>&1 | sed 's/^.*cl_status\(: \[[0-9]*\]\|\[[0-9]*\]\): *[0-9/_:]* *//'); wrc=${PIPESTATUS[0]}
  # shellcheck disable=SC2086
  got=$(node_run "$L2" a /usr/bin/cl_status $cmd 2>&1 | sed 's/^.*cl_status\(: \[[0-9]*\]\|\[[0-9]*\]\): *[0-9/_:]* *//'); grc=${PIPESTATUS[0]}
  # shellcheck disable=SC2086
  ours=$(node_run "$L2" a "$cl" $cmd 2>&1 | sed 's/^.*cl_status\(: \[[0-9]*\]\|\[[0-9]*\]\): *[0-9/_:]* *//'); orc=${PIPESTATUS[0]}
  assert_eq "original cl_status $cmd: text (our daemon vs the original)" "$got" "$want"
  assert_eq "original cl_status $cmd: exit status" "$grc" "$wrc"
  case $cmd in
  # 2.0.8's cl_status lists a link once per medium line (two `ucast eth1` lines: eth1 twice);
  # 3.0.6's lists it once. Ours does what 2.0.8 does: compare without the repetition.
  listhblinks*) ours=$(printf '%s\n' "$ours" | uniq) ;;
  esac
  assert_eq "our cl_status $cmd: text" "$ours" "$want"
  assert_eq "our cl_status $cmd: exit status" "$orc" "$wrc"
  n=$((n + 1))
done <<'CMDS'
hbstatus
listnodes
listnodes -n
listnodes -p
nodestatus a
nodestatus b
nodestatus nosuchnode
nodetype a
nodetype b
listhblinks a
listhblinks b
hblinkstatus b eth1
hblinkstatus b eth9
rscstatus
hbparameter -p keepalive
hbparameter -p deadtime
hbparameter -p warntime
hbparameter -p initdead
hbparameter -p auto_failback
hbparameter -p udpport
hbparameter -p nosuchparam
clientstatus b ipfail
CMDS
note "$n cl_status commands: the same answers from our daemon as from the original, with both tools"
for P in "$L1" "$L2"; do
  LAB_P=$P stop_node "$P" a
  LAB_P=$P stop_node "$P" b
done
note "PASS t-cl-status"
