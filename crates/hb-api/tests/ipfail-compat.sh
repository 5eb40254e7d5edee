#!/usr/bin/env bash
# ipfail-compat.sh: our ipfail and the original's (Debian 3.0.6, /usr/libexec/heartbeat/ipfail) in a two-node lab
# (compat-tests/lib.sh), respawned by the daemons as in production, with the ping node 198.51.100.100 (the lab's
# client host) and haresources "a IPaddr::198.51.100.254/24/eth0", auto_failback on.
#
# One lab per pairing in PAIRS ("X/Y": the ipfail of node a / of node b, orig or ours); the daemons are the
# original's (DAEMON_A/DAEMON_B; ours only once it runs respawn clients and ping nodes). In each:
#   1. both start, the VIP settles on a, both ipfails are signed on and have exchanged their counts;
#   2. a's eth0 is cut at the switch: a no longer sees the ping node, its ipfail and b's compare counts, a gives
#      up its resources and the VIP must move to b (figure: cut -> VIP on b, and the client's lost-ping window);
#      the logs must show the exchange (a "told that we have less ping nodes", b "more visible ping nodes");
#   3. a's eth0 comes back: the counts are balanced again and, auto_failback being on, b gives up the foreign
#      resources: the VIP must return to a (figure: heal -> VIP on a);
#   4. b's eth0 is cut: b sees fewer ping nodes and gives up (it holds nothing); the VIP must stay on a;
#   5. b's eth0 comes back; both daemons stop (ipfail is stopped with them).
# The figures of every pairing are printed at the end, with the stages of each move timed on a's heartbeat link
# (tcpdump, when installed): cut -> a's num_ping_nodes (the daemon noticing the ping node's death) -> b's
# you_are_dead -> a's ask_resources (the 2 x keepalive give-up) -> VIP on b; back -> a's num_ping_nodes -> b's
# abort_giveup -> b's ask_resources (foreign) -> VIP on a.
#
# Environment: OURS_IPFAIL (required: our built ipfail), PAIRS (default "orig/orig ours/orig orig/ours ours/ours"),
# ROUNDS (default 1: each pairing once; more: medians too), DAEMON_A, DAEMON_B (default orig), OURS_BIN (our
# daemon, when a DAEMON is ours), LAB_KEEP=1.
# Run as root (about 45 s per pairing):
#   OURS_IPFAIL=/work/target-ipfail/debug/ipfail bash crates/hb-api/tests/ipfail-compat.sh
set -u
REPO=$(cd "$(dirname "$0")/../../.." && pwd)
# shellcheck source=../../../compat-tests/lib.sh
. "$REPO/compat-tests/lib.sh"

OURS_IPFAIL=${OURS_IPFAIL:-}
{ [ -n "$OURS_IPFAIL" ] && [ -x "$OURS_IPFAIL" ]; } || fail "OURS_IPFAIL must name our built ipfail (got '$OURS_IPFAIL')"
ORIG_IPFAIL=/usr/libexec/heartbeat/ipfail
[ -x "$ORIG_IPFAIL" ] || fail "setup: $ORIG_IPFAIL missing (apt-get install -y heartbeat)"
PAIRS=${PAIRS:-orig/orig ours/orig orig/ours ours/ours}
ROUNDS=${ROUNDS:-1}
DAEMON_A=${DAEMON_A:-orig}
DAEMON_B=${DAEMON_B:-orig}
for d in "$DAEMON_A" "$DAEMON_B"; do
  case $d in
  orig) ;;
  ours) [ -x "$OURS_BIN" ] || skip "our daemon not built ($OURS_BIN)" ;;
  *) fail "DAEMON_A/DAEMON_B must be orig or ours, not '$d'" ;;
  esac
done
PINGNODE=198.51.100.100
# Inside a node our binary is /var/lib/heartbeat/ours/ipfail (so its log name is "ipfail", as the original's).
OURS_IN_NODE=/var/lib/heartbeat/ours/ipfail
RESULTS=

ipfail_path() {
  case $1 in
  orig) echo "$ORIG_IPFAIL" ;;
  ours) echo "$OURS_IN_NODE" ;;
  *) fail "PAIRS: '$1' is neither orig nor ours" ;;
  esac
}

# The log line shapes tell whose ipfail wrote them: ours `ipfail[PID]: YYYY/MM/DD_...`, 3.0.6 `ipfail: [PID]: `.
ipfail_shape() {
  case $1 in
  orig) echo 'ipfail: \[[0-9]+\]: ' ;;
  ours) echo 'ipfail\[[0-9]+\]: [0-9]{4}/' ;;
  esac
}

on_node() { node_run "$P" "$1" timeout 10 "${@:2}"; }
says() { [ "$(on_node "$1" cl_status "${@:3}" 2>/dev/null)" = "$2" ]; }

# ipfail_logged NODE TEXT: NODE's debug file (every level) has a line of its ipfail with TEXT (fixed string).
ipfail_logged() {
  grep -F -- "$2" "$LAB_ROOT/$P/$1/lib/ha-debug" 2>/dev/null | grep -Eq -- "$(ipfail_shape "$(eval echo "\$IPF_$1")")"
}

# The heartbeat link of a is captured (tcpdump) to time the stages of each failover: the cluster messages of the
# ipfails, classic or netstring form, one line per packet: "EPOCH_SECONDS TYPE SRC INFO".
HAVE_TCPDUMP=0
command -v tcpdump >/dev/null && HAVE_TCPDUMP=1
capture_start() {
  [ "$HAVE_TCPDUMP" = 1 ] || return 0
  ip netns exec "$P-a" timeout 120 tcpdump -i eth1 -n -tt -l -A -s 0 udp port 694 >"$LAB_ROOT/$P/cap.txt" 2>/dev/null &
  CAPTURE_PID=$!
  record_pid "$P" "$CAPTURE_PID"
  sleep 0.5
}
capture_stop() {
  [ -n "${CAPTURE_PID:-}" ] || return 0
  kill -TERM "$CAPTURE_PID" 2>/dev/null
  wait "$CAPTURE_PID" 2>/dev/null
  CAPTURE_PID=
}
capture_messages() {
  awk '
    function flush(   t, s, i) {
      if (ts == "") return
      if (match(body, /[)|]t=[A-Za-z_-]+/)) {
        t = substr(body, RSTART + 3, RLENGTH - 3); s = "-"; i = "-"
        if (match(body, /[)|]src=[^,|]+/)) s = substr(body, RSTART + 5, RLENGTH - 5)
        if (match(body, /[)|]info=[^,|]+/)) i = substr(body, RSTART + 6, RLENGTH - 6)
        print ts, t, s, i
      }
      ts = ""; body = ""
    }
    /^[0-9]+\.[0-9]+ IP / { flush(); ts = $1; body = "|"; next }
    { body = body $0 "|" }
    END { flush() }' "$LAB_ROOT/$P/cap.txt" 2>/dev/null
}
# first_ms T0_MS TYPE SRC INFO: when (ms since epoch) the first such message after T0_MS was on the link
# ("-" matches anything); nothing when none.
first_ms() {
  capture_messages | awk -v t0="$1" -v t="$2" -v s="$3" -v i="$4" '
    $1 * 1000 >= t0 && $2 == t && (s == "-" || $3 == s) && (i == "-" || $4 == i) { printf "%d\n", $1 * 1000; exit }'
}
# stages T0_MS END_MS LABEL:TYPE:SRC:INFO...: "LABEL +N ms" per stage, each after the previous one.
stages() {
  local prev=$1 end=$2 out="" st lab typ src inf at
  shift 2
  for st in "$@"; do
    IFS=: read -r lab typ src inf <<<"$st"
    at=$(first_ms "$prev" "$typ" "$src" "$inf")
    if [ -z "$at" ]; then out="$out $lab ?"; break; fi
    out="$out $lab +$((at - prev))"
    prev=$at
  done
  [ -z "$at" ] || out="$out, VIP +$((end - prev))"
  echo "${out# }"
}

# either_logged TEXT: the ipfail of a or of b logged TEXT.
either_logged() { ipfail_logged a "$1" || ipfail_logged b "$1"; }

run_pair() {
  local pair=$1 idx=$2 n t0 cut_ms heal_ms window cut_stages="n/a" heal_stages="n/a"
  IPF_a=${pair%/*}
  IPF_b=${pair#*/}
  P=ipf$idx$$
  P=${P:0:10}
  lab_up "$P"
  for n in a b; do
    mkdir -p "$LAB_ROOT/$P/$n/lib/ours"
    install -m 0755 "$OURS_IPFAIL" "$LAB_ROOT/$P/$n/lib/ours/ipfail" || fail "setup: cannot install our ipfail"
    write_config "$n" auto_failback=on extra="ping $PINGNODE
respawn hacluster $(ipfail_path "$(eval echo "\$IPF_$n")")
apiauth ipfail gid=haclient uid=hacluster"
  done
  start_node "$P" a "$DAEMON_A"
  start_node "$P" b "$DAEMON_B"
  note "$pair: daemons $DAEMON_A/$DAEMON_B started; ipfail a=$IPF_a b=$IPF_b"
  assert "a sees b active" wait_for 20 says a active nodestatus b
  assert "a sees the ping node" wait_for 20 says a ping nodestatus "$PINGNODE"
  assert "b sees the ping node" wait_for 20 says b ping nodestatus "$PINGNODE"
  assert "ipfail is signed on at a" wait_for 20 says a online clientstatus a ipfail
  assert "ipfail is signed on at b" wait_for 20 says b online clientstatus b ipfail
  assert "the VIP settles on a" vip_settle "$P" a 30 2
  for n in a b; do
    assert "$n runs the $(eval echo "\$IPF_$n") ipfail (its log lines)" wait_for 10 ipfail_logged "$n" "Waiting for messages..."
  done
  # The ipfails exchange their counts when the second one signs on; let that settle.
  assert "the ipfails compared their counts" wait_for 15 either_logged "Ping node count is balanced."
  sleep 3

  # 2. a loses the ping node.
  client_ping_start "$P"
  capture_start
  sleep 1
  t0=$(now_ms)
  must ip -n "$P-sw" link set port-a down
  assert "$pair: the VIP moves to b after a lost the ping node" vip_settle "$P" b 20 2
  cut_ms=$((VIP_SETTLE_AT - t0))
  window=$(client_ping_window "$P") || window="n/a"
  window=${window%% (*}
  note "$pair: a cut off: VIP on b after $cut_ms ms (client's window: $window)"
  [ "$HAVE_TCPDUMP" = 0 ] || cut_stages=$(stages "$t0" "$VIP_SETTLE_AT" "a-asks:num_ping_nodes:a:-" \
    "b-you_are_dead:you_are_dead:-:-" "a-standby:ask_resources:a:me")
  note "$pair: stages (ms): $cut_stages"
  assert "a's ipfail counted zero" ipfail_logged a "We are dead. :<"
  assert "b's ipfail told a it sees more" ipfail_logged b "Telling other node that we have more visible ping nodes."
  assert "a's ipfail gave up" ipfail_logged a "Giving up because we were told that we have less ping nodes."
  assert "a's ipfail asked for the standby" ipfail_logged a "giveup() called (timeout worked)"

  # 3. a sees the ping node again: auto_failback brings the VIP home.
  sleep 2
  t0=$(now_ms)
  must ip -n "$P-sw" link set port-a up
  assert "$pair: the VIP returns to a" vip_settle "$P" a 30 2
  heal_ms=$((VIP_SETTLE_AT - t0))
  note "$pair: a back: VIP on a after $heal_ms ms"
  [ "$HAVE_TCPDUMP" = 0 ] || heal_stages=$(stages "$t0" "$VIP_SETTLE_AT" "a-asks:num_ping_nodes:a:-" \
    "b-abort:abort_giveup:b:-" "b-standby:ask_resources:b:me")
  note "$pair: stages (ms): $heal_stages"
  assert "a's ipfail saw the ping node come back" ipfail_logged a "A ping node just came up."
  assert "b's ipfail gave up the foreign resources" ipfail_logged b "Giving up foreign resources (auto_failback)."

  # 4. b loses the ping node: it gives up (nothing), the VIP stays on a.
  sleep 2
  n=$(log_count b "Giving up because we were told that we have less ping nodes.")
  must ip -n "$P-sw" link set port-b down
  assert "b's ipfail was told it sees fewer" wait_for 10 log_count_above b \
    "Giving up because we were told that we have less ping nodes." "$n"
  assert "$pair: the VIP stays on a while b is cut off" vip_stays "$P" a 6
  must ip -n "$P-sw" link set port-b up
  assert "b sees the ping node again" wait_for 20 says b ping nodestatus "$PINGNODE"
  assert "$pair: the VIP stays on a after b is back" vip_stays "$P" a 4

  # 5. stop: the daemons stop ipfail with them.
  capture_stop
  stop_node "$P" b
  stop_node "$P" a
  for n in a b; do
    assert "$n stopped its ipfail" log_has "$n" "killing .*ipfail process group"
  done
  lab_down "$P"
  RESULTS="$RESULTS$(printf '%-10s %12s ms %15s ms %15s' "$pair" "$cut_ms" "$heal_ms" "$window")
    cut:  $cut_stages
    back: $heal_stages
"
  CUTS[$pair]="${CUTS[$pair]:-} $cut_ms"
  HEALS[$pair]="${HEALS[$pair]:-} $heal_ms"
}

declare -A CUTS HEALS
i=0
for round in $(seq 1 "$ROUNDS"); do
  for pair in $PAIRS; do
    i=$((i + 1))
    note "round $round: $pair"
    run_pair "$pair" "$i"
  done
done
echo
echo "ipfail a/b   a cut -> VIP on b   a back -> VIP on a   client's window at the cut"
printf '%s' "$RESULTS"
if [ "$ROUNDS" -gt 1 ]; then
  for pair in $PAIRS; do
    # shellcheck disable=SC2086 # lists of numbers
    printf 'median %-6s %9s ms %15s ms\n' "$pair" "$(median ${CUTS[$pair]})" "$(median ${HEALS[$pair]})"
  done
fi
echo "(daemons $DAEMON_A/$DAEMON_B, keepalive 200ms, deadtime 1, deadping = deadtime, auto_failback on)"
