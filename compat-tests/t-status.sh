#!/usr/bin/env bash
# t-status.sh: `heartbeat -s --json` and `heartbeat -s --prometheus` on a running lab cluster (issue #15),
# with the client API's drop counters in every form (issue #16). a = ours; b = IMPL_B (ours by default).
# a holds the VIP and has a service check (`exec true`) on it.
#   1. both up, the VIP on a: a's JSON parses (python3's json), names a, b active with a generation and its
#      link eth1 up, the group with its resources as written, preferred a, holder a; the check ok with its
#      counts; packets received > 0; every drop kind and the API's drop counters present.
#   2. the Prometheus form: every line is a HELP/TYPE comment or a valid sample of an announced family;
#      heartbeat_up 1, b's status active, the group running on a, the API drop counters.
#   3. the plain text shows the nodes, the group and the API drop counters.
#   4. b stops: a's JSON shows b dead and the group still held by a.
#   5. a stops: --json says running false, --prometheus heartbeat_up 0, exit status 3 as plain -s.
set -u
. "$(dirname "$0")/lib.sh"
IMPL_B=${IMPL_B:-ours}
require_impls ours "$IMPL_B"
command -v python3 >/dev/null || skip "python3 is needed to parse the JSON"
P=s$$
P=${P:0:10}
lab_up "$P"
for n in a b; do
  write_config $n auth=sha1 key=statuskey medium=ucast auto_failback=on
  echo "IPaddr::$VIP/24/eth0 interval=500ms timeout=400ms exec true" >"$LAB_ROOT/$P/$n/etc/checks"
done
start_node "$P" a ours
start_node "$P" b "$IMPL_B"
out=$(vip_settle "$P" a 30 1) || fail "1. $out"

json() { node_run "$P" a "$OURS_BIN" -s --json 2>/dev/null; }
# jcheck PYTHON-EXPR: the expression holds on a's JSON (bound to j).
jcheck() {
  json | python3 -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"
}
b_active='[n for n in j["nodes"] if n["name"]=="b"][0]["status"]=="active"'
g_on_a='j["groups"][0]["holder"]=="a" and j["groups"][0]["state"]=="running"'
assert "1. the JSON shows b active and the group on a (within 10 s)" wait_for 10 jcheck "$b_active and $g_on_a"
J=$(json)
note "1. heartbeat -s --json on a: ${J:0:600}..."
assert "1. python3 -m json.tool accepts it" eval "echo \"\$J\" | python3 -m json.tool >/dev/null"
py() { echo "$J" | python3 -c 'import json,sys; j=json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"; }
assert "1. node is a" py 'j["node"]=="a" and j["running"] is True'
b='[n for n in j["nodes"] if n["name"]=="b"][0]'
assert "1. b: type normal, a generation, link eth1 up" \
  py "$b[\"type\"]==\"normal\" and $b[\"generation\"]>0 and {\"name\":\"eth1\",\"status\":\"up\"} in $b[\"links\"]"
assert "1. the group: resources as written, preferred a, holder a" \
  py "j[\"groups\"][0][\"resources\"]==[\"IPaddr::$VIP/24/eth0\"] and j[\"groups\"][0][\"preferred\"]==\"a\" and j[\"groups\"][0][\"holder\"]==\"a\""
assert "1. the check: target, state ok, counts" \
  py 'j["checks"][0]["target"]=="exec true" and j["checks"][0]["state"]=="ok" and j["checks"][0]["fall"]==3 and j["checks"][0]["failures"]==0'
assert "1. packets received and accepted, every drop kind listed" \
  py 'j["packets"]["received"]>0 and j["packets"]["accepted"]>0 and len(j["packets"]["dropped"])>=20'
assert "1. the API's drop counters" py '"refused" in j["api_drops"] and "daemon-only" in j["api_drops"]'

PROM=$(node_run "$P" a "$OURS_BIN" -s --prometheus 2>/dev/null)
note "2. heartbeat -s --prometheus on a: $(echo "$PROM" | grep -c -v '^#') samples"
# shellcheck disable=SC2016
promcheck='
import re, sys
name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
label = r"[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\n]|\\\\[\\\\\"n])*\""
sample = re.compile(r"^(%s)(\{%s(?:,%s)*\})? (-?[0-9.e+]+|NaN)$" % (name, label, label))
typed, bad = set(), []
for line in sys.stdin.read().splitlines():
    m = re.match(r"^# (HELP|TYPE) (%s) (.+)$" % name, line)
    if m:
        if m.group(1) == "TYPE":
            typed.add(m.group(2))
        continue
    s = sample.match(line)
    if not s or s.group(1) not in typed:
        bad.append(line)
print("\n".join(bad))
sys.exit(1 if bad else 0)'
assert "2. every line is a comment or a valid sample of a typed family" eval "echo \"\$PROM\" | python3 -c \"\$promcheck\""
assert "2. heartbeat_up 1" eval "echo \"\$PROM\" | grep -q '^heartbeat_up{node=\"a\"} 1$'"
assert "2. b active" eval "echo \"\$PROM\" | grep -q '^heartbeat_node_status{node=\"a\",peer=\"b\",type=\"normal\",status=\"active\"} 1$'"
assert "2. the group running on a" eval "echo \"\$PROM\" | grep -q '^heartbeat_group_running{.*holder=\"a\".*} 1$'"
assert "2. the API drop counters" eval "echo \"\$PROM\" | grep -q '^heartbeat_api_drops_total{node=\"a\",kind=\"refused\"} [0-9]*$'"

TXT=$(node_run "$P" a "$OURS_BIN" -s 2>/dev/null)
note "3. heartbeat -s on a: $(echo "$TXT" | tr '\n' '|')"
assert "3. the text shows b" eval "echo \"\$TXT\" | grep -q '^node b (normal): active'"
assert "3. the text shows the group on a" eval "echo \"\$TXT\" | grep -q '^group IPaddr::$VIP/24/eth0: running on a'"
assert "3. the text shows the API drop counters" eval "echo \"\$TXT\" | grep -q '^api drops: refused [0-9]*, '"

stop_node "$P" b
b_dead='[n for n in j["nodes"] if n["name"]=="b"][0]["status"]=="dead"'
assert "4. b stopped: the JSON shows b dead, the group on a (within 10 s)" wait_for 10 jcheck "$b_dead and $g_on_a"

stop_node "$P" a
J=$(json)
rc=0 rc_plain=0
node_run "$P" a "$OURS_BIN" -s --json >/dev/null 2>&1 || rc=$?
node_run "$P" a "$OURS_BIN" -s >/dev/null 2>&1 || rc_plain=$?
note "5. a stopped: heartbeat -s --json: $J (exit $rc; plain -s: $rc_plain)"
assert "5. --json: running false" py 'j["running"] is False and j["node"]=="a"'
assert "5. exit status not 0" [ "$rc" != 0 ]
assert_eq "5. exit status as plain -s" "$rc" "$rc_plain"
assert "5. --prometheus: heartbeat_up 0" eval "node_run \"$P\" a \"$OURS_BIN\" -s --prometheus 2>/dev/null | grep -q '^heartbeat_up{node=\"a\"} 0$'"
note "PASS t-status (b=$IMPL_B)"
