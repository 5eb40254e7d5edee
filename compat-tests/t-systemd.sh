#!/usr/bin/env bash
# t-systemd.sh: a systemd service as a haresources resource (issue #15), ours on both nodes.
# haresources `a IPaddr::VIP/24/eth0 UNIT` where UNIT is no script in resource.d nor in the init
# directories but UNIT.service in the node's /run/systemd/system. No systemd runs here: a
# `systemctl` stand-in first in the daemons' PATH (/etc/ha.d/bin) records "NODE ARGS" and answers
# `is-active` from a state file in the node's /run.
#   1. `heartbeat -t` on a says the resource runs through systemctl (a NOTE naming the unit file);
#   2. both start: the VIP lands on a, a ran `is-active UNIT.service` then `start UNIT.service`
#      (ResourceManager's status-then-start); b started nothing;
#   3. `heartbeat -k` on a: a ran `stop UNIT.service`, b ran `start UNIT.service`, the VIP is on
#      b and a's unit is stopped (the order of the steps within a group is checked by hb-daemon's
#      jobs test); b's own `-k` stops it there.
# The original knows nothing of units (its ResourceManager finds no script and fails the group):
# it has no part here.
set -u
. "$(dirname "$0")/lib.sh"
[ -x "$OURS_BIN" ] || skip "our daemon not built ($OURS_BIN)"
P=s$$
P=${P:0:10}
UNIT=hbt${P}web
lab_up "$P"
for n in a b; do
  write_config $n auto_failback=on resources="a IPaddr::$VIP/24/eth0 $UNIT"
  d=$LAB_ROOT/$P/$n
  mkdir -p "$d/run/systemd/system" "$d/etc/bin"
  printf '[Unit]\nDescription=t-systemd test service\n[Service]\nExecStart=/bin/sleep 600\n' \
    >"$d/run/systemd/system/$UNIT.service"
  cat >"$d/etc/bin/systemctl" <<'EOF'
#!/bin/sh
# systemctl stand-in: records "NODE ARGS"; a unit is active while /run/hbt-unit.UNIT exists.
echo "$(hostname) $*" >>/var/lib/heartbeat/systemctl.calls
case "$1" in
start) : >"/run/hbt-unit.$2" ;;
stop) rm -f "/run/hbt-unit.$2" ;;
is-active) if [ -e "/run/hbt-unit.$2" ]; then echo active; else echo inactive; exit 3; fi ;;
*) exit 1 ;;
esac
exit 0
EOF
  chmod 755 "$d/etc/bin/systemctl"
done
calls() { cat "$LAB_ROOT/$P/$1/lib/systemctl.calls" 2>/dev/null; }

out=$(node_run "$P" a "$OURS_BIN" -t 2>&1)
printf '%s\n' "$out" | grep -i "systemctl" | sed 's/^/    -t: /'
assert "1. heartbeat -t notes that $UNIT runs through systemctl" \
  eval "printf '%s\n' \"\$out\" | grep -q \"NOTE: haresources:1: '$UNIT' runs through systemctl.*$UNIT.service (/run/systemd/system/$UNIT.service)\""
assert "1. heartbeat -t does not call $UNIT missing" \
  eval "! printf '%s\n' \"\$out\" | grep -q \"resource script '$UNIT' found neither\""

for n in a b; do (export PATH=/etc/ha.d/bin:$PATH; start_node "$P" $n ours) || fail "start $n"; done
out=$(vip_settle "$P" a 40 1) || fail "2. $out"
assert "2. a started $UNIT.service" wait_for 10 eval "calls a | grep -q 'start $UNIT.service'"
note "2. a's systemctl calls: $(calls a | tr '\n' ';')"
assert_eq "2. a asked is-active, then started" "$(calls a | grep -v '^a stop')" \
  "a is-active $UNIT.service
a start $UNIT.service"
assert "2. a's unit is active" test -e "$LAB_ROOT/$P/a/run/hbt-unit.$UNIT.service"
assert "2. a logs the systemctl start" log_has a "Running systemctl start $UNIT.service"
assert "2. b started nothing" eval "! calls b | grep -q start"

stop_node "$P" a
out=$(vip_settle "$P" b 20 1) || fail "3. $out"
assert "3. b started $UNIT.service" wait_for 10 eval "calls b | grep -q 'start $UNIT.service'"
note "3. a's systemctl calls: $(calls a | tr '\n' ';') b's: $(calls b | tr '\n' ';')"
assert "3. a stopped $UNIT.service" eval "calls a | grep -qx 'a stop $UNIT.service'"
assert "3. a's unit is stopped" test ! -e "$LAB_ROOT/$P/a/run/hbt-unit.$UNIT.service"
assert "3. b's unit is active" test -e "$LAB_ROOT/$P/b/run/hbt-unit.$UNIT.service"
assert "3. nobody logged a failed group" eval "! log_has a 'Resource group failed' && ! log_has b 'Resource group failed'"
stop_node "$P" b
assert "3. b stopped $UNIT.service at its -k" eval "calls b | grep -qx 'b stop $UNIT.service'"
note "PASS"
