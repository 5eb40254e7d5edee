#!/usr/bin/env bash
# t-cfgdigest.sh: one haresources for the whole cluster (issue #15). Each node of ours announces the digests
# of its haresources and checks file in its statuses; when they differ both log one warning naming the file
# and the groups, and `heartbeat -s` shows it.
#   1. lab 1, a and b ours: a's haresources has a second group (.253 for b) that b's lacks, and the first
#      group's line differs (a runs it with an extra resource): both log one warning naming haresources and
#      both groups, none about checks (identical); `heartbeat -s` (text and JSON) shows DIFFERS on both.
#   2. a's haresources is made identical to b's and a reloads (`heartbeat -r`): both JSONs say same, and no
#      new warning is logged by either (an identical cluster logs nothing about it).
#   3. lab 2, a ours with the different haresources, b the original: the cluster works (VIP on a, the
#      original sees a active), a shows b's configuration as unknown and logs no warning; our group list
#      message (hb-cfggroups, written into a's FIFO) reaches the original: it logs nothing about it nor
#      about our status field, and no ERROR beyond those it logs at start anyway.
set -u
. "$(dirname "$0")/lib.sh"
require_impls ours orig
command -v python3 >/dev/null || skip "python3 is needed to parse the JSON"
ORIG_OK=1
[ -n "${ORIG_BIN:-}" ] && [ -x "${ORIG_BIN:-}" ] || ORIG_OK=0

RES_B="a IPaddr::$VIP/24/eth0"
RES_A="a IPaddr::$VIP/24/eth0 Delay::0::0
b IPaddr::198.51.100.253/24/eth0"

warn_re='haresources differs between this node and node'
jstate() { # jstate P NODE PEER: the config state NODE shows for PEER
  node_run "$1" "$2" "$OURS_BIN" -s --json 2>/dev/null |
    python3 -c 'import json,sys; j=json.load(sys.stdin); print([p["state"] for p in j["config"]["peers"] if p["peer"]==sys.argv[1]][0])' "$3" 2>/dev/null
}

P=g$$
P=${P:0:10}
lab_up "$P"
write_config a auth=sha1 key=cfgkey resources="$RES_A"
write_config b auth=sha1 key=cfgkey resources="$RES_B"
for n in a b; do echo "IPaddr::$VIP/24/eth0 interval=1 exec true" >"$LAB_ROOT/$P/$n/etc/checks"; done
start_node "$P" a ours
start_node "$P" b ours
out=$(vip_settle "$P" a 30 1) || fail "1. $out"
assert "1. a warns (within 10 s)" wait_for 10 log_has a "$warn_re b"
assert "1. b warns (within 10 s)" wait_for 10 log_has b "$warn_re a"
note "1. a: $(grep -h "$warn_re" "$(log_file a)" | sed 's/.*WARN: //')"
note "1. b: $(grep -h "$warn_re" "$(log_file b)" | sed 's/.*WARN: //')"
assert "1. a's warning names both groups" log_has a "differ: IPaddr::$VIP/24/eth0; only here: IPaddr::198.51.100.253/24/eth0"
assert "1. b's warning names both groups" log_has b "differ: IPaddr::$VIP/24/eth0; only on a: IPaddr::198.51.100.253/24/eth0"
sleep 3
assert_eq "1. one warning on a (after 3 s more)" "$(log_count a "$warn_re")" 1
assert_eq "1. one warning on b" "$(log_count b "$warn_re")" 1
assert_eq "1. nothing about the identical checks file" "$(log_count a 'checks differs')$(log_count b 'checks differs')" 00
assert "1. heartbeat -s on a shows DIFFERS" eval "node_run $P a $OURS_BIN -s | grep -q '^configuration of b: DIFFERS: haresources'"
assert_eq "1. JSON on b" "$(jstate "$P" b a)" differs

printf '%s\n' "$RES_B" >"$LAB_ROOT/$P/a/etc/haresources"
node_run "$P" a "$OURS_BIN" -r >>"$LAB_ROOT/$P/a/log/daemon.out" 2>&1 || fail "2. heartbeat -r on a failed"
assert "2. a's JSON says same (within 30 s)" wait_for 30 eval "[ \"\$(jstate $P a b)\" = same ]"
assert "2. b's JSON says same (within 10 s)" wait_for 10 eval "[ \"\$(jstate $P b a)\" = same ]"
sleep 2
assert_eq "2. no new warning on a" "$(log_count a "$warn_re")" 1
assert_eq "2. no new warning on b" "$(log_count b "$warn_re")" 1
note "2. after the reload both nodes show the same configuration"
stop_node "$P" a
stop_node "$P" b

if [ "$ORIG_OK" = 0 ]; then
  note "SKIP part 3: no original heartbeat"
  note "PASS t-cfgdigest (ours only)"
  exit 0
fi
P2=h$$
P2=${P2:0:10}
lab_up "$P2"
write_config a auth=sha1 key=cfgkey resources="$RES_A"
write_config b auth=sha1 key=cfgkey resources="$RES_B"
start_node "$P2" a ours
start_node "$P2" b orig
out=$(vip_settle "$P2" a 40 1) || fail "3. $out"
assert "3. the original sees a active" wait_for 10 eval "[ \"\$(node_status_from $P2 b a)\" = active ]"
assert_eq "3. a shows b's configuration as unknown" "$(jstate "$P2" a b)" unknown
# What the original logs anyway at start (memory locking in a namespace...): the baseline.
errs0=$(log_count b 'ERROR|CRIT')
# Our group list, as a sends it when digests differ, into the cluster through a's FIFO.
node_run "$P2" a sh -c "printf '>>>\nt=hb-cfggroups\ncfg=haresources:0123456789abcdef,checks:0123456789abcdef\nhave=none\nharesources=0123456789abcdef:IPaddr::$VIP/24/eth0\nchecks=\n<<<\n' >/var/lib/heartbeat/fifo"
sleep 3
assert "3. the VIP stays on a" vip_stays "$P2" a 1
assert "3. the original still sees a active" eval "[ \"\$(node_status_from $P2 b a)\" = active ]"
assert_eq "3. a logged no warning about b" "$(log_count a "$warn_re")" 0
assert_eq "3. the original logged nothing about our message or field" "$(log_count b 'hb-cfggroups|hbrs_cfg')" 0
note "3. the original's ERROR/CRIT lines: $errs0 at start (its own), $(log_count b 'ERROR|CRIT') now"
assert_eq "3. the original logged no new ERROR" "$(log_count b 'ERROR|CRIT')" "$errs0"
stop_node "$P2" a
stop_node "$P2" b
note "PASS t-cfgdigest"
