# shellcheck shell=bash
# shellcheck disable=SC2086 # lists of pids are meant to be split into words
# shellcheck disable=SC2016 # the node_run script is single-quoted on purpose (it runs in the node)
# compat-tests/lib.sh: a small library for the compatibility tests.
#
# Each test sources this file. It builds two-node heartbeat labs in network namespaces, runs the original
# heartbeat (Debian's 3.0.6) and/or our daemon as nodes, and offers the checks the tests need.
#
#   lab_up P / lab_down P        namespaces P-a, P-b (nodes), P-c (client), P-sw (bridge)
#   lab_add_node P d             a third node d (namespace P-d on the bridge only; write_config nodes="a b d"
#                                medium=ucast0); lab_nodes P lists the nodes
#   write_config NODE [k=v ...]  ha.cf, haresources, authkeys of NODE in the current lab (see write_config)
#   node_run P NODE CMD...       run CMD "on" node NODE (its hostname, /etc/ha.d, /run, /var/lib/heartbeat)
#   start_node P NODE orig|ours  start a daemon; stop_node P NODE (heartbeat -k); crash_node / revive_node
#   node_status_from P NODE OTHER  `cl_status nodestatus OTHER` asked on NODE
#   vip_holder P                 a, b, none or both
#   client_ping_start P [--tcp PORT] / client_ping_window P   lost-reply window of a client pinging the VIP,
#                                in ms (client_tcp_window P: the same for the TCP service, with --tcp;
#                                client_tcp_from P TEXT: the service has answered TEXT)
#   service_start P NODE [PORT] / service_stop P NODE / service_ask P ADDR [PORT]   a TCP service answering
#                                "service on NODE" (default port 12345), and the client asking it
#   wait_for SECONDS CMD...      poll CMD every 0.1 s until it succeeds, at most SECONDS
#   log_has NODE REGEX / log_count NODE REGEX / log_file NODE
#   assert DESC CMD... / assert_eq DESC ACTUAL EXPECTED / fail MSG / skip MSG
#
# Topology (as in ../shared/lab/lab.sh, but the veth ends are created directly inside the namespaces, so no test
# interface ever exists in the root namespace):
#   eth0 of a, b, c on bridge br0 in P-sw: service net 198.51.100.0/24, a .1, b .2, client .100, VIP .254
#   eth1 of a and b: one veth pair, heartbeat link 192.0.2.0/24, a .1, b .2 (broadcast address set, for `bcast`)
# Node state: $LAB_ROOT/P/NODE/{etc,run,lib,log}: etc -> /etc/ha.d, run -> /run, lib -> /var/lib/heartbeat inside
# the node; log/ holds what the harness itself records (daemon stdout/stderr). The node's heartbeat log file is
# /var/lib/heartbeat/ha-log, so it lands in lib/ha-log.
#
# $LAB_ROOT is a fresh temporary directory per test run. The EXIT trap tears down every lab made under it
# (also on failure or Ctrl-C), deletes the directory when the test passed and keeps it (path printed) when not.
#
# The client measures with the project's own tool, crates/hb-io/examples/vip_probe.rs (ICMP echo and TCP; no
# particular `ping` or `nc` is needed): `cargo build --release -p hb-io --example vip_probe` (test-all.sh's
# cargo test builds it too).
#
# Environment: OURS_BIN (our daemon; default <repo>/target/release/heartbeat), ORIG_BIN (found automatically),
# PROBE_BIN (default <repo>/target/release/examples/vip_probe), LAB_KEEP=1 keeps $LAB_ROOT even after a pass,
# LAB_TMP (parent of $LAB_ROOT, default /tmp).

COMPAT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$COMPAT_DIR/.." && pwd)
OURS_BIN=${OURS_BIN:-$REPO_DIR/target/release/heartbeat}
PROBE_BIN=${PROBE_BIN:-$REPO_DIR/target/release/examples/vip_probe}
VIP=198.51.100.254
LAB_FAILED=0
LAB_P=${LAB_P:-}

# ---------------------------------------------------------------------------------------------------------------
# Reporting

# Dump the end of both nodes' logs of the current lab (called on failure).
dump_logs() {
  local P=$LAB_P n f
  [ -n "$P" ] || return 0
  for n in $(lab_nodes "$P"); do
    f=$LAB_ROOT/$P/$n/lib/ha-log
    echo "----- last lines of $n's log ($f) -----" >&2
    if [ -f "$f" ]; then tail -n "${LAB_DUMP_LINES:-40}" "$f" >&2; else echo "(no log file)" >&2; fi
    f=$LAB_ROOT/$P/$n/log/daemon.out
    if [ -s "$f" ]; then
      echo "----- $n: daemon stdout/stderr ($f) -----" >&2
      tail -n 10 "$f" >&2
    fi
  done
}

# fail MSG: report a failed check with the nodes' logs and end the test (the EXIT trap cleans up).
fail() {
  LAB_FAILED=1
  echo "FAIL: $*" >&2
  dump_logs
  exit 1
}

# skip MSG: a loud banner, exit 0. Only for "this machine cannot run the test" (not root, daemon not built).
skip() {
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!!! SKIP: $*"
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  exit 0
}

# assert DESC CMD...: CMD must succeed.
assert() {
  local desc=$1
  shift
  "$@" || fail "$desc (command: $*)"
}

# assert_eq DESC ACTUAL EXPECTED
assert_eq() {
  [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}

# note MSG: progress line with a timestamp relative to the start of the test.
note() {
  local now
  now=$(now_ms)
  printf '[%6.1fs] %s\n' "$(((now - LAB_T0) / 100))e-1" "$*"
}

# now_ms: wall clock in milliseconds (no fork for the clock itself).
now_ms() {
  local t=${EPOCHREALTIME/./}
  echo $((t / 1000))
}

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds; fail (status 1) after SECONDS.
wait_for() {
  local limit_ms deadline
  limit_ms=$(awk -v s="$1" 'BEGIN { printf "%d", s * 1000 }')
  shift
  deadline=$(($(now_ms) + limit_ms))
  while :; do
    "$@" && return 0
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------------------------------------------
# Pre-flight: root, tools, the original daemon. Not root: SKIP. Root but something missing: FAIL.

if [ "$(id -u)" != 0 ]; then
  skip "compat tests need root (network namespaces); not run here."
fi
for _t in ip unshare awk; do
  command -v "$_t" >/dev/null || fail "setup: required tool '$_t' not found (apt-get install iproute2 util-linux gawk)"
done
ORIG_BIN=${ORIG_BIN:-}
if [ -z "$ORIG_BIN" ]; then
  for _b in /usr/libexec/heartbeat/heartbeat /usr/lib/heartbeat/heartbeat; do
    if [ -x "$_b" ]; then ORIG_BIN=$_b; break; fi
  done
fi
[ -x "${ORIG_BIN:-/nonexistent}" ] ||
  fail "setup: the original heartbeat is not installed (apt-get install -y heartbeat resource-agents)"
command -v cl_status >/dev/null || fail "setup: cl_status not found (package heartbeat)"
unset _t _b

LAB_ROOT=$(mktemp -d "${LAB_TMP:-/tmp}/hbcompat.XXXXXX") || fail "setup: cannot make a temporary directory"
LAB_T0=$(now_ms)

# ---------------------------------------------------------------------------------------------------------------
# Processes

# pid_alive PID
pid_alive() {
  local s
  [ -n "$1" ] && s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  [ "${s%% *}" != Z ]
}

# descendants PID: PID and every process below it, from the ppid field of /proc/*/stat (the command name may
# contain blanks or parentheses, so the fields are taken after its last closing parenthesis).
descendants() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
    { n = split($0, part, ") "); split(part[n], f, " "); parent[$1] = f[2] }
    END {
      want[root] = 1; print root
      for (round = 0; round < 20; round++) {
        changed = 0
        for (c in parent) if (!(c in want) && (parent[c] in want)) { want[c] = 1; print c; changed = 1 }
        if (!changed) break
      }
    }'
}

# node_pid P NODE: the pid in the node's pid file if that process lives (else prints nothing, status 1).
node_pid() {
  local f=$LAB_ROOT/$1/$2/run/heartbeat.pid pid
  [ -f "$f" ] || return 1
  pid=$(tr -d ' \n' <"$f")
  pid_alive "$pid" || return 1
  echo "$pid"
}

# node_procs P NODE: the daemon's master process and all its descendants.
node_procs() {
  local pid
  pid=$(node_pid "$1" "$2") || return 0
  descendants "$pid"
}

# kill_tree SIGNAL PIDS...: stop the listed processes, then look again for children forked meanwhile and send
# SIGNAL to all (three rounds at most).
kill_tree() {
  local sig=$1 p all
  shift
  all="$*"
  for _ in 1 2 3; do
    [ -n "$all" ] || return 0
    for p in $all; do kill -STOP "$p" 2>/dev/null; done
    all=$(for p in $all; do descendants "$p"; done | sort -u)
  done
  for p in $all; do kill -"$sig" "$p" 2>/dev/null; kill -CONT "$p" 2>/dev/null; done
  return 0
}

# record_pid P PID: remember a process started for lab P (killed by lab_down).
record_pid() {
  echo "$2" >>"$LAB_ROOT/$1/pids"
}

# ---------------------------------------------------------------------------------------------------------------
# Labs

ns_exists() {
  ip netns list 2>/dev/null | awk '{ print $1 }' | grep -qx -- "$1"
}

# must CMD...: a setup step; its failure fails the test (we are root, so setup must work).
must() {
  "$@" || fail "setup step failed: $*"
}

# lab_up P: build the namespaces and the node directories of lab P and make it the current lab.
lab_up() {
  local P=$1 n d
  case ${#P} in [1-9] | 10) ;; *) fail "lab prefix '$P' must be 1-10 characters" ;; esac
  ns_exists "$P-a" && fail "a lab named $P already exists (namespace $P-a)"
  LAB_P=$P
  mkdir -p "$LAB_ROOT/$P" # from here on the EXIT trap tears this lab down
  for n in sw a b c; do must ip netns add "$P-$n"; done
  must ip -n "$P-sw" link add br0 type bridge
  must ip -n "$P-sw" link set br0 up
  must ip -n "$P-sw" link set lo up
  for n in a b c; do
    must ip -n "$P-$n" link add eth0 type veth peer name "port-$n" netns "$P-sw"
    must ip -n "$P-sw" link set dev "port-$n" master br0 up
    must ip -n "$P-$n" link set lo up
    must ip -n "$P-$n" link set eth0 up
  done
  must ip -n "$P-a" addr add 198.51.100.1/24 brd + dev eth0
  must ip -n "$P-b" addr add 198.51.100.2/24 brd + dev eth0
  must ip -n "$P-c" addr add 198.51.100.100/24 brd + dev eth0
  must ip -n "$P-a" link add eth1 type veth peer name eth1 netns "$P-b"
  must ip -n "$P-a" addr add 192.0.2.1/24 brd + dev eth1
  must ip -n "$P-b" addr add 192.0.2.2/24 brd + dev eth1
  must ip -n "$P-a" link set eth1 up
  must ip -n "$P-b" link set eth1 up
  for n in a b; do
    d=$LAB_ROOT/$P/$n
    must mkdir -p "$d/etc" "$d/run/heartbeat/ccm" "$d/run/heartbeat/crm" "$d/run/heartbeat/dopd" \
      "$d/run/resource-agents" "$d/lib" "$d/log"
    [ -d /etc/ha.d ] && must cp -a /etc/ha.d/. "$d/etc/"
    [ -d /var/lib/heartbeat ] && must cp -a /var/lib/heartbeat/. "$d/lib/"
    # never inherit another node's identity or state
    rm -f "$d/lib/hb_uuid" "$d/lib/hb_generation" "$d/lib/fifo" "$d/lib/ha-log" "$d/lib/ha-debug"
    rm -f "$d/etc/ha.cf" "$d/etc/haresources" "$d/etc/authkeys"
    chown -R hacluster:haclient "$d/run/heartbeat" 2>/dev/null || true
    chmod 750 "$d/run/heartbeat"
  done
}

# lab_nodes P: the cluster nodes of lab P: a, b and any node added by lab_add_node.
lab_nodes() {
  echo a b
  [ -f "$LAB_ROOT/$1/extra_nodes" ] && cat "$LAB_ROOT/$1/extra_nodes"
  return 0
}

# node_addr NODE: a node's address on the service net (eth0): a .1, b .2, d .4, e .5.
node_addr() {
  case $1 in
  a) echo 198.51.100.1 ;; b) echo 198.51.100.2 ;; d) echo 198.51.100.4 ;; e) echo 198.51.100.5 ;;
  *) fail "node_addr: no address for node '$1' (a, b, d or e)" ;;
  esac
}

# lab_add_node P NODE: a third (fourth) cluster node d (e) in lab P: namespace P-NODE, eth0 on the bridge with
# node_addr NODE, no eth1 (clusters of three send their heartbeats on eth0: write_config medium=ucast0), and its
# node directories as for a and b. lab_down tears it down with the rest.
lab_add_node() {
  local P=$1 n=$2 d
  case $n in d | e) ;; *) fail "lab_add_node: node '$n' must be d or e" ;; esac
  ns_exists "$P-$n" && fail "lab_add_node: namespace $P-$n already exists"
  echo "$n" >>"$LAB_ROOT/$P/extra_nodes"
  must ip netns add "$P-$n"
  must ip -n "$P-$n" link add eth0 type veth peer name "port-$n" netns "$P-sw"
  must ip -n "$P-sw" link set dev "port-$n" master br0 up
  must ip -n "$P-$n" link set lo up
  must ip -n "$P-$n" link set eth0 up
  must ip -n "$P-$n" addr add "$(node_addr "$n")/24" brd + dev eth0
  d=$LAB_ROOT/$P/$n
  must mkdir -p "$d/etc" "$d/run/heartbeat/ccm" "$d/run/heartbeat/crm" "$d/run/heartbeat/dopd" \
    "$d/run/resource-agents" "$d/lib" "$d/log"
  [ -d /etc/ha.d ] && must cp -a /etc/ha.d/. "$d/etc/"
  [ -d /var/lib/heartbeat ] && must cp -a /var/lib/heartbeat/. "$d/lib/"
  rm -f "$d/lib/hb_uuid" "$d/lib/hb_generation" "$d/lib/fifo" "$d/lib/ha-log" "$d/lib/ha-debug"
  rm -f "$d/etc/ha.cf" "$d/etc/haresources" "$d/etc/authkeys"
  chown -R hacluster:haclient "$d/run/heartbeat" 2>/dev/null || true
  chmod 750 "$d/run/heartbeat"
}

# lab_down P: kill every process of lab P (daemons by their pid files and descendants, recorded pids, then
# whatever still runs inside the lab's own namespaces) and delete the namespaces. Idempotent. Keeps the files.
lab_down() {
  local P=$1 n pids
  [ -d "$LAB_ROOT/$P" ] || return 0
  for n in $(lab_nodes "$P"); do
    pids=$(node_procs "$P" "$n")
    [ -n "$pids" ] && kill_tree KILL $pids
  done
  if [ -f "$LAB_ROOT/$P/pids" ]; then
    while read -r n; do pid_alive "$n" && kill -KILL "$n" 2>/dev/null; done <"$LAB_ROOT/$P/pids"
  fi
  if [ -f "$LAB_ROOT/$P/serial_devs" ]; then # see serial_up
    while read -r n; do
      umount "$n" 2>/dev/null
      rm -f "$n"
    done <"$LAB_ROOT/$P/serial_devs"
    rm -f "$LAB_ROOT/$P/serial_devs"
  fi
  for n in $(lab_nodes "$P") c sw; do
    if ns_exists "$P-$n"; then
      # every process in a namespace this test created was started by this test
      pids=$(ip netns pids "$P-$n" 2>/dev/null)
      [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
      ip netns del "$P-$n" 2>/dev/null || echo "warning: could not delete namespace $P-$n" >&2
    fi
  done
  return 0
}

# lab_bg PID: register a background job of the test (e.g. a subshell running one lab); the EXIT trap stops it
# and everything below it before tearing the labs down (background jobs of a script ignore Ctrl-C).
LAB_BG_PIDS=
lab_bg() {
  LAB_BG_PIDS="$LAB_BG_PIDS $1"
}

# The EXIT trap: stop the test's background jobs, tear down every lab of this run; keep the files if anything
# failed.
lab_cleanup() {
  local rc=$? d
  trap - EXIT INT TERM
  [ -z "${LAB_BG_PIDS// /}" ] || kill_tree KILL $LAB_BG_PIDS
  for d in "$LAB_ROOT"/*/; do
    [ -d "$d" ] || continue
    d=${d%/}
    lab_down "${d##*/}"
  done
  if [ "$rc" = 0 ] && [ "$LAB_FAILED" = 0 ] && [ "${LAB_KEEP:-0}" = 0 ]; then
    rm -rf "$LAB_ROOT"
  else
    echo "lab files (node logs, configs) kept in $LAB_ROOT" >&2
  fi
  exit "$rc"
}
trap lab_cleanup EXIT
trap 'echo "interrupted" >&2; LAB_FAILED=1; exit 130' INT TERM

# ---------------------------------------------------------------------------------------------------------------
# Running things on a node

# node_run P NODE CMD...: run CMD in namespace P-NODE with hostname NODE and, in a mount namespace of its own,
# the node's etc/run/lib bound on /etc/ha.d, /run and /var/lib/heartbeat. LAB_BINDS="SRC=DST ..." adds binds
# (a directory, or a file over a file that exists, e.g. /etc/resolv.conf).
# Each call makes a fresh mount namespace over the same directories, so later calls see the pid file, the API
# socket and the FIFO of a daemon started earlier.
node_run() {
  local P=$1 n=$2
  shift 2
  local d=$LAB_ROOT/$P/$n
  [ -d "$d" ] || fail "node_run: no node $n in lab $P"
  ip netns exec "$P-$n" unshare --uts --mount --propagation private sh -c '
    d=$1; n=$2; binds=$3; shift 3
    hostname "$n" || exit 125
    for b in $binds; do { [ -e "${b#*=}" ] || mkdir -p "${b#*=}"; } && mount --bind "${b%%=*}" "${b#*=}" || exit 125; done
    mkdir -p /etc/ha.d /var/lib/heartbeat
    mount --bind "$d/etc" /etc/ha.d && mount --bind "$d/run" /run &&
      mount --bind "$d/lib" /var/lib/heartbeat || exit 125
    exec "$@"' sh "$d" "$n" "${LAB_BINDS:-}" "$@"
}

# impl_bin IMPL: the daemon binary of an implementation.
impl_bin() {
  case $1 in
  orig) echo "$ORIG_BIN" ;;
  ours) echo "$OURS_BIN" ;;
  *) fail "unknown implementation '$1' (orig or ours)" ;;
  esac
}

# require_impls IMPL...: each is orig or ours; a test needing ours SKIPs when our daemon is not built.
require_impls() {
  local impl
  for impl in "$@"; do
    case $impl in
    orig) ;;
    ours) [ -x "$OURS_BIN" ] || skip "our daemon not built ($OURS_BIN)" ;;
    *) fail "IMPL_A/IMPL_B must be orig or ours, not '$impl'" ;;
    esac
  done
}

# start_node P NODE IMPL: start the daemon (it daemonizes itself) and wait until its pid file names a live
# process (at most 10 s). The daemon's own stdout/stderr go to NODE/log/daemon.out.
start_node() {
  local P=$1 n=$2 impl=$3 bin d
  bin=$(impl_bin "$impl")
  d=$LAB_ROOT/$P/$n
  [ -x "$bin" ] || fail "start_node: $impl daemon $bin not executable"
  # A killed daemon stays a zombie until PID 1 reaps it (here up to about 2 s), and the original takes a pid
  # file naming a zombie for "already running": wait until the previous master is really gone.
  if [ -s "$d/run/heartbeat.pid" ]; then
    local old
    old=$(tr -d ' \n' <"$d/run/heartbeat.pid")
    pid_alive "$old" && fail "start_node: a daemon already runs on $n (pid $old)"
    wait_for 10 eval "[ ! -e /proc/$old ]" || fail "start_node: $n's previous daemon $old was never reaped"
  fi
  echo "$impl" >"$d/impl"
  echo "=== $(date '+%F %T') start $impl: $bin" >>"$d/log/daemon.out"
  node_run "$P" "$n" "$bin" >>"$d/log/daemon.out" 2>&1 </dev/null ||
    fail "start_node: $impl daemon on $n exited with status $? (see $d/log/daemon.out)"
  wait_for 10 node_pid "$P" "$n" >/dev/null || fail "start_node: no live pid file for $n after 10 s"
}

# stop_node P NODE: `heartbeat -k` of the implementation that runs there (bounded: 40 s), then the master must
# be gone.
stop_node() {
  local P=$1 n=$2 impl bin pid
  impl=$(cat "$LAB_ROOT/$P/$n/impl" 2>/dev/null) || fail "stop_node: $n was never started"
  bin=$(impl_bin "$impl")
  pid=$(node_pid "$P" "$n") || return 0
  node_run "$P" "$n" timeout 40 "$bin" -k >>"$LAB_ROOT/$P/$n/log/daemon.out" 2>&1 ||
    fail "stop_node: $impl heartbeat -k on $n failed or timed out"
  wait_for 5 eval "! pid_alive $pid" || fail "stop_node: $n's daemon (pid $pid) still runs after -k"
}

# crash_node P NODE: the machine dies: both links down, SIGKILL to the daemon and everything below it, and
# (as a reboot would) its volatile state goes: the VIP leaves eth0 and /run/resource-agents is emptied.
crash_node() {
  local P=$1 n=$2 pids
  ip -n "$P-$n" link set eth1 down
  ip -n "$P-$n" link set eth0 down
  pids=$(node_procs "$P" "$n")
  [ -n "$pids" ] || fail "crash_node: no daemon runs on $n"
  kill_tree KILL $pids
  ip -n "$P-$n" addr del "$VIP/24" dev eth0 2>/dev/null
  rm -rf "$LAB_ROOT/$P/$n/run/resource-agents"/*
  wait_for 5 eval "[ -z \"\$(node_procs $P $n)\" ]" || fail "crash_node: $n's daemon survived SIGKILL"
}

# kill_node P NODE: SIGKILL of the daemon and its descendants only (links stay up).
kill_node() {
  local pids
  pids=$(node_procs "$1" "$2")
  [ -n "$pids" ] || fail "kill_node: no daemon runs on $2"
  kill_tree KILL $pids
  wait_for 5 eval "[ -z \"\$(node_procs $1 $2)\" ]" || fail "kill_node: $2's daemon survived SIGKILL"
}

# revive_node P NODE: links up again after crash_node (start the daemon separately).
revive_node() {
  must ip -n "$1-$2" link set eth0 up
  if ip -n "$1-$2" link show eth1 >/dev/null 2>&1; then must ip -n "$1-$2" link set eth1 up; fi
}

# node_status_from P NODE OTHER: what NODE's daemon says of OTHER through the client API (cl_status).
node_status_from() {
  node_run "$1" "$2" timeout 5 cl_status nodestatus "$3" 2>/dev/null
}

# generation P NODE: the node's hb_generation (0 when absent).
generation() {
  local f=$LAB_ROOT/$1/$2/lib/hb_generation
  if [ -f "$f" ]; then tr -d ' \n' <"$f"; else echo 0; fi
}

# vip_holder P: which node has the VIP on eth0: a, b, none or both (labs with lab_add_node: the holders' names,
# e.g. d or bd).
vip_holder() {
  local P=${1:-$LAB_P} n holders=
  for n in $(lab_nodes "$P"); do
    if ip -n "$P-$n" -4 addr show dev eth0 2>/dev/null | grep -q " $VIP/"; then holders="$holders$n"; fi
  done
  case $holders in
  "") echo none ;;
  ab) echo both ;; # two-node labs; with more nodes every holder is listed (e.g. bd)
  *) echo "$holders" ;;
  esac
}

# ---------------------------------------------------------------------------------------------------------------
# The client: ping the VIP every 20 ms during a failover.

# need_probe: the client's measuring tool must be built.
need_probe() {
  [ -x "$PROBE_BIN" ] ||
    fail "setup: the lab client's tool $PROBE_BIN is not built (cargo build --release -p hb-io --example vip_probe)"
}

# client_ping_start P [--tcp PORT]: start pinging the VIP from the client namespace every 20 ms with vip_probe
# (bounded: stops by itself after 150 s); replies are logged as `ping -D` prints them. With --tcp PORT the client
# also connects to VIP:PORT every 100 ms and logs what the service answered (client_tcp_window).
client_ping_start() {
  local P=$1
  shift
  need_probe
  ip netns exec "$P-c" "$PROBE_BIN" ping "$VIP" --interval-ms 20 --for-s 150 "$@" >"$LAB_ROOT/$P/ping.out" 2>&1 &
  echo $! >"$LAB_ROOT/$P/ping.pid"
  record_pid "$P" $!
}

# client_ping_window P: stop the pinger and print the longest silence between two consecutive replies, in ms,
# with the times of the last reply before and the first reply after it. Status 1 when there was no reply on
# both sides of the gap.
client_ping_window() {
  local P=$1 pid
  pid=$(cat "$LAB_ROOT/$P/ping.pid")
  kill -INT "$pid" 2>/dev/null
  wait_for 3 eval "! pid_alive $pid" || kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  awk '
    /bytes from/ {
      t = substr($1, 2, length($1) - 2) + 0
      if (n > 0 && t - prev > gap) { gap = t - prev; before = prev; after = t }
      prev = t; n++
    }
    END {
      if (n < 2 || gap == 0) { print "no-window replies=" n; exit 1 }
      printf "%d ms (last reply before %.3f, first after %.3f, %d replies)\n", gap * 1000, before, after, n
    }' "$LAB_ROOT/$P/ping.out"
}

# client_tcp_window P: after client_ping_window (which stops the client): how long the TCP service did not answer
# while it moved (client_ping_start --tcp), in ms: from the last answer of the node that answered first to the first
# answer of another node. Status 1 when the answers never came from a second node.
client_tcp_window() {
  awk '
    / tcp [0-9.]+:[0-9]+: / {
      t = substr($1, 2, length($1) - 2) + 0
      who = $0; sub(/^[^ ]+ tcp [^ ]+ /, "", who)
      n++
      if (n == 1) first = who
      if (who == first) { last = t; next }
      if (!moved) { moved = 1; after = t; to = who }
    }
    END {
      if (!moved) { print "no-move answers=" n " all from \"" first "\""; exit 1 }
      printf "%d ms (\"%s\" until %.3f, \"%s\" from %.3f)\n", (after - last) * 1000, first, last, to, after
    }' "$LAB_ROOT/$1/ping.out"
}

# client_tcp_from P TEXT: the client's TCP probe (client_ping_start --tcp) has had the answer TEXT.
client_tcp_from() {
  grep -qF " tcp $VIP:" "$LAB_ROOT/$1/ping.out" && grep -F " tcp $VIP:" "$LAB_ROOT/$1/ping.out" | grep -qF ": $2"
}

# service_start P NODE [PORT]: a TCP service in NODE's namespace answering "service on NODE" to every connection
# (vip_probe serve), until service_stop or the end of the test.
service_start() {
  local P=$1 n=$2 port=${3:-12345}
  need_probe
  ip netns exec "$P-$n" "$PROBE_BIN" serve "$port" "service on $n" >>"$LAB_ROOT/$P/$n/log/service.out" 2>&1 &
  echo $! >"$LAB_ROOT/$P/$n/service.pid"
  lab_bg $!
  # Not a job of the script: its end (service_stop, the cleanup) is not reported as "Killed".
  disown $!
}

# service_stop P NODE: stop NODE's service.
service_stop() {
  local pid
  pid=$(cat "$LAB_ROOT/$1/$2/service.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null
  wait_for 3 eval "! pid_alive $pid" || kill -KILL "$pid" 2>/dev/null
}

# service_ask P ADDR [PORT]: what the service at ADDR says to the client (empty and status 1 when nothing).
service_ask() {
  need_probe
  ip netns exec "$1-c" "$PROBE_BIN" tcp "$2" "${3:-12345}" --timeout-ms 1000 2>/dev/null
}

# ---------------------------------------------------------------------------------------------------------------
# Logs (of the current lab, $LAB_P)

log_file() {
  echo "$LAB_ROOT/$LAB_P/$1/lib/ha-log"
}

# log_has NODE REGEX (extended regular expression)
log_has() {
  grep -Eq -- "$2" "$(log_file "$1")" 2>/dev/null
}

# log_count NODE REGEX: number of matching lines (0 when there is no log yet).
log_count() {
  local c
  c=$(grep -Ec -- "$2" "$(log_file "$1")" 2>/dev/null) || c=0
  echo "${c:-0}"
}

# log_count_above NODE REGEX N: true when more than N lines match (for "a new line appeared").
log_count_above() {
  [ "$(log_count "$1" "$2")" -gt "$3" ]
}

# ---------------------------------------------------------------------------------------------------------------
# Configuration

# write_config NODE [key=value ...]: write NODE's ha.cf, haresources and authkeys (mode 600) in the current lab.
#   auth=crc|md5|sha1   key=KEY (md5/sha1)   authidx=N (default 1)
#   medium=ucast|bcast|mcast|none|ucast0 (ucast0: `ucast eth0 ADDR` of every node, for labs of three)
#   nodes="a b d" (the `node` lines, default "a b")   mcast_group=ADDR (default 239.0.0.1)   udpport=694
#   serial=DEV (a `baud` line, then `serial DEV`; see serial_up)   baud=19200
#   keepalive=200ms deadtime=1 warntime=500ms initdead=2   auto_failback=on|off|legacy (legacy: no line)
#   resources="a IPaddr::198.51.100.254/24/eth0" (empty: no resource line)   extra="directive lines"
write_config() {
  local n=$1
  shift
  local auth=crc key='' authidx=1 medium=ucast mcast_group=239.0.0.1 udpport=694 keepalive=200ms deadtime=1
  local warntime=500ms initdead=2 auto_failback=on resources="a IPaddr::$VIP/24/eth0" extra='' kv
  local serial='' baud=19200 nodes="a b" m
  for kv in "$@"; do
    case $kv in
    auth=* | key=* | authidx=* | medium=* | mcast_group=* | udpport=* | keepalive=* | deadtime=* | \
      warntime=* | initdead=* | auto_failback=* | resources=* | extra=* | serial=* | baud=* | nodes=*)
      local "$kv" ;;
    *) fail "write_config: unknown option '$kv'" ;;
    esac
  done
  local d=$LAB_ROOT/$LAB_P/$n/etc
  [ -d "$d" ] || fail "write_config: no node $n in lab $LAB_P"
  {
    echo "# written by compat-tests/lib.sh write_config"
    echo "logfacility none"
    echo "logfile /var/lib/heartbeat/ha-log"
    echo "debugfile /var/lib/heartbeat/ha-debug"
    echo "keepalive $keepalive"
    echo "deadtime $deadtime"
    echo "warntime $warntime"
    echo "initdead $initdead"
    echo "udpport $udpport"
    [ -z "$serial" ] || echo "baud $baud" # before every medium line, as the original wants
    case $medium in
    ucast) echo "ucast eth1 192.0.2.1"; echo "ucast eth1 192.0.2.2" ;;
    ucast0) for m in $nodes; do echo "ucast eth0 $(node_addr "$m")"; done ;;
    bcast) echo "bcast eth1" ;;
    mcast) echo "mcast eth1 $mcast_group $udpport 1 0" ;;
    none) ;;
    *) fail "write_config: unknown medium '$medium'" ;;
    esac
    [ -z "$serial" ] || echo "serial $serial"
    [ "$auto_failback" = legacy ] || echo "auto_failback $auto_failback"
    for m in $nodes; do echo "node $m"; done
    echo "crm off"
    [ -z "$extra" ] || printf '%s\n' "$extra"
  } >"$d/ha.cf"
  if [ -n "$resources" ]; then printf '%s\n' "$resources" >"$d/haresources"; else : >"$d/haresources"; fi
  case $auth in
  crc) printf 'auth %s\n%s crc\n' "$authidx" "$authidx" >"$d/authkeys" ;;
  md5 | sha1)
    [ -n "$key" ] || fail "write_config: auth $auth needs key=..."
    printf 'auth %s\n%s %s %s\n' "$authidx" "$authidx" "$auth" "$key" >"$d/authkeys"
    ;;
  *) fail "write_config: unknown auth method '$auth'" ;;
  esac
  chmod 600 "$d/authkeys"
}

# ---------------------------------------------------------------------------------------------------------------
# Resources, benchmarks (added for t-takeover.sh, bench-failover.sh, bench-idle.sh)
#
#   vip_settle P NODE WAIT HOLD   the VIP reaches NODE within WAIT s, then stays on NODE alone for HOLD s
#   vip_stays P NODE SECS         the VIP stays on NODE alone for SECS s
#   impl_of_node P NODE           orig or ours (what start_node last started there)
#   node_cmd P NODE CMD...        run a bounded (20 s) command on NODE, its output appended to NODE/log/cmd.out
#   ping_replies P                replies the client received so far
#   tree_cpu_ticks PIDS...        cumulative CPU ticks of those processes and of the children they reaped
#   tree_sched_ms PIDS...         time on CPU of their threads from schedstat (ms, ns resolution)
#   tree_rss_kib PIDS...          sum of VmRSS (KiB); tree_pss_kib: sum of Pss (KiB)
#   median N...                   median of integers (mean of the two middle ones when N is even)

# vip_settle P NODE WAIT HOLD: wait at most WAIT s until the VIP is on NODE alone, then require that it stays
# there alone for HOLD s (checked every 0.1 s). Sets VIP_SETTLE_AT to when (now_ms) it was first seen on NODE. On
# failure prints what was seen (status 1).
VIP_SETTLE_AT=
vip_settle() {
  local P=$1 n=$2 wait_s=$3 hold_s=$4
  if ! wait_for "$wait_s" eval "[ \"\$(vip_holder $P)\" = $n ]"; then
    echo "the VIP did not reach $n within $wait_s s (holder now: $(vip_holder "$P"))"
    return 1
  fi
  # shellcheck disable=SC2034 # read by the tests
  VIP_SETTLE_AT=$(now_ms)
  vip_stays "$P" "$n" "$hold_s"
}

# vip_stays P NODE SECS: the VIP is on NODE alone at every check (0.1 s apart) for SECS s.
vip_stays() {
  local P=$1 n=$2 end h
  end=$(($(now_ms) + $(awk -v s="$3" 'BEGIN { printf "%d", s * 1000 }')))
  while :; do
    h=$(vip_holder "$P")
    if [ "$h" != "$n" ]; then
      echo "the VIP left $n (holder: $h) while it should have stayed there"
      return 1
    fi
    [ "$(now_ms)" -lt "$end" ] || return 0
    sleep 0.1
  done
}

# impl_of_node P NODE: the implementation start_node last started on NODE.
impl_of_node() {
  cat "$LAB_ROOT/$1/$2/impl" 2>/dev/null || echo unknown
}

# node_cmd P NODE CMD...: run CMD on NODE (node_run) with a 20 s bound; its output goes to NODE/log/cmd.out.
node_cmd() {
  local P=$1 n=$2
  shift 2
  echo "=== $(date '+%F %T') $*" >>"$LAB_ROOT/$P/$n/log/cmd.out"
  node_run "$P" "$n" timeout 20 "$@" >>"$LAB_ROOT/$P/$n/log/cmd.out" 2>&1
}

# ping_replies P: number of replies the client got so far (0 without a pinger).
ping_replies() {
  local c
  c=$(grep -c 'bytes from' "$LAB_ROOT/$1/ping.out" 2>/dev/null) || c=0
  echo "${c:-0}"
}

# tree_cpu_ticks PIDS...: utime+stime+cutime+cstime summed over the listed live processes, in clock ticks. Over
# every live process of a tree this counts each process once: live ones by their own times, exited ones in the
# cutime/cstime of whoever reaped them (a child orphaned to PID 1 is lost).
tree_cpu_ticks() {
  local p s total=0
  for p in "$@"; do
    s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    s=${s##*) }
    # after the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    total=$((total + $(echo "$s" | awk '{ print $12 + $13 + $14 + $15 }')))
  done
  echo "$total"
}

# tree_sched_ms PIDS...: time on CPU of every thread of the listed live processes (/proc/PID/task/TID/schedstat,
# nanosecond resolution), in ms with three decimals. Exited processes are not counted.
tree_sched_ms() {
  local p
  for p in "$@"; do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done |
    awk '{ ns += $1 } END { printf "%.3f", ns / 1e6 }'
}

# tree_rss_kib PIDS...: sum of VmRSS of the listed processes, in KiB.
tree_rss_kib() {
  local p r total=0
  for p in "$@"; do
    r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
    total=$((total + ${r:-0}))
  done
  echo "$total"
}

# tree_pss_kib PIDS...: sum of Pss (proportional set size: shared pages split among their users), in KiB.
tree_pss_kib() {
  local p
  for p in "$@"; do cat "/proc/$p/smaps_rollup" 2>/dev/null; done | awk '/^Pss:/ { t += $2 } END { print t + 0 }'
}

# median N...: the median of integers (rounded down mean of the two middle values for an even count).
median() {
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "n/a"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

# ---------------------------------------------------------------------------------------------------------------
# Added for t-upgrade.sh (the rolling upgrade)
#
#   client_ping_lost P   stop the client's pinger and account for every reply it did not get over the whole run
#
# client_ping_lost P: stop the pinger started by client_ping_start and count, from the icmp_seq numbers of the
# replies, the requests that got no reply between the first and the last reply. Prints one line
# "LOST_MS GAPS LONGEST_MS REPLIES SENT" (LOST_MS = unanswered requests x 20 ms, the ping interval; GAPS = runs of
# consecutive unanswered requests; LONGEST_MS = the longest run in ms), then one line per run,
# "  +T.Ts: N ms" (T = seconds after the first reply). Status 1 when there were fewer than two replies.
client_ping_lost() {
  local P=$1 pid
  pid=$(cat "$LAB_ROOT/$P/ping.pid")
  kill -INT "$pid" 2>/dev/null
  wait_for 3 eval "! pid_alive $pid" || kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  awk -v iv_ms=20 '
    /bytes from/ {
      seq = ""; t = substr($1, 2, length($1) - 2) + 0
      for (i = 1; i <= NF; i++) if ($i ~ /^icmp_seq=/) { seq = substr($i, 10) + 0 }
      if (seq == "" || (seq in got)) next
      got[seq] = t; n++
      if (n == 1 || seq < lo) lo = seq
      if (n == 1 || seq > hi) hi = seq
    }
    END {
      if (n < 2) { print "0 0 0 " n " 0"; exit 1 }
      first = got[lo]; run = 0
      for (s = lo; s <= hi; s++) {
        if (s in got) {
          if (run > 0) { list = list sprintf("  +%.1fs: %d ms\n", start - first, run * iv_ms); gaps++
                         if (run > longest) longest = run }
          run = 0; last_t = got[s]
        } else {
          if (run == 0) start = last_t
          run++; lost++
        }
      }
      printf "%d %d %d %d %d\n%s", lost * iv_ms, gaps, longest * iv_ms, n, hi - lo + 1, list
    }' "$LAB_ROOT/$P/ping.out"
}

# ---------------------------------------------------------------------------------------------------------------
# Added for t-cable-cut.sh and t-frozen.sh (one holder of the VIP, issue #12)
#
#   vip_watch_start P            record every change of the VIP on a's and b's eth0 from now on
#   vip_watch_times P FROM TO    time with two holders and with none between two now_ms instants
#   ipmon_vip_added FILE         when an `ip -ts monitor address` record first shows the VIP added
#
# vip_watch_start P: the holders now (vip_holder) and, from then on, every address added to or deleted from the
# nodes' interfaces, as the kernel reports them (`ip -ts monitor address` in each node's namespace: microsecond
# wall-clock stamps, no sampling gaps, no polling load). Stopped by lab_down.
vip_watch_start() {
  local P=$1 n
  for n in a b; do
    ip -n "$P-$n" -ts monitor address >"$LAB_ROOT/$P/vipwatch.$n" 2>&1 &
    record_pid "$P" $!
  done
  sleep 0.3
  now_ms >"$LAB_ROOT/$P/vipwatch.t0"
  vip_holder "$P" >"$LAB_ROOT/$P/vipwatch.initial"
}

# ipmon_vip_added FILE: when the VIP was first added in FILE, a record of `ip -ts monitor address` (as
# vip_watch_start makes them): epoch seconds with microseconds; nothing when it never was.
ipmon_vip_added() {
  awk -v vip="$VIP" 'index($0, " inet " vip "/") && !index($0, "Deleted") &&
    match($0, /^\[([0-9]+)-([0-9]+)-([0-9]+)T([0-9]+):([0-9]+):([0-9]+)\.([0-9]+)\]/, m) {
      printf "%d.%06d\n", mktime(m[1] " " m[2] " " m[3] " " m[4] " " m[5] " " m[6]), m[7]; exit }' "$1"
}

# vip_watch_times P FROM_MS TO_MS: between FROM_MS and TO_MS (now_ms values, after vip_watch_start), one line
# "TWO_MS TWO_LONGEST_MS NONE_MS NONE_LONGEST_MS CHANGES FINAL": the total and the longest continuous time the VIP
# was on both nodes, the same for on neither, how many times it was added or removed, and who held it at TO_MS.
vip_watch_times() {
  local P=$1 d=$LAB_ROOT/$1 n
  for n in a b; do
    awk -v node="$n" -v vip="$VIP" '
      index($0, " inet " vip "/") && match($0, /^\[([0-9]+)-([0-9]+)-([0-9]+)T([0-9]+):([0-9]+):([0-9]+)\.([0-9]+)\]/, m) {
        t = mktime(m[1] " " m[2] " " m[3] " " m[4] " " m[5] " " m[6]) * 1000 + int(m[7] / 1000)
        print t, node, (index($0, "Deleted") ? 0 : 1)
      }' "$d/vipwatch.$n"
  done | sort -n -k1,1 | awk -v t0="$(cat "$d/vipwatch.t0")" -v init="$(cat "$d/vipwatch.initial")" \
    -v from="$2" -v to="$3" '
    # the interval [at, until) had the holders in on[]
    function account(until,   span, k) {
      if (until > at) {
        span = until - at; k = on["a"] + on["b"]
        if (k == 2) { two += span; run2 += span } else { if (run2 > long2) long2 = run2; run2 = 0 }
        if (k == 0) { none += span; run0 += span } else { if (run0 > long0) long0 = run0; run0 = 0 }
      }
      at = until
    }
    BEGIN {
      on["a"] = (init == "a" || init == "both"); on["b"] = (init == "b" || init == "both")
      at = from
    }
    $1 < t0 { next }
    $1 <= from { on[$2] = $3; next }
    $1 > to { next }
    { account($1); on[$2] = $3; changes++ }
    END {
      account(to)
      if (run2 > long2) long2 = run2
      if (run0 > long0) long0 = run0
      k = on["a"] + on["b"]
      final = (k == 2) ? "both" : (k == 0) ? "none" : (on["a"] ? "a" : "b")
      printf "%d %d %d %d %d %s\n", two, long2, none, long0, changes, final
    }'
}

# vip_pairs_run BASE TITLE: for every a/b pair in $PAIRS, `one_lab PAIR PREFIX` (a function of the test, whose last
# output line is "RESULT PAIR" followed by the six fields of vip_watch_times) in its own lab (prefix BASE1, BASE2,
# ...) and subshell, all in parallel; then each lab's output and a table of the results under TITLE. Status 1 when
# a lab failed.
vip_pairs_run() {
  local base=${1:0:7} title=$2 status=0 pids='' i=0 pair p
  for pair in $PAIRS; do
    i=$((i + 1))
    (one_lab "$pair" "$base$i") >"$LAB_ROOT/out.$i" 2>&1 &
    pids="$pids $!"
    lab_bg $!
  done
  for p in $pids; do wait "$p" || status=1; done
  i=0
  for pair in $PAIRS; do
    i=$((i + 1))
    echo "===== $pair ====="
    grep -v '^RESULT ' "$LAB_ROOT/out.$i"
  done
  echo "===== summary: $title ====="
  printf '%-10s %22s %22s %8s\n' "a/b" "two holders (longest)" "no holder (longest)" "end"
  i=0
  for pair in $PAIRS; do
    i=$((i + 1))
    grep '^RESULT ' "$LAB_ROOT/out.$i" | awk '{ printf "%-10s %13d ms (%4d) %13d ms (%4d) %8s\n", $2, $3, $4, $5, $6, $8 }'
  done
  return "$status"
}

# ---------------------------------------------------------------------------------------------------------------
# Added for t-serial.sh: a null-modem cable between the two nodes
#
# serial_up P: a pair of ptys joined by socat (what one writes the other reads), each end bind-mounted on a
# character device path of its node, SERIAL_DEV_a and SERIAL_DEV_b (/dev/ttyHB<P>a, /dev/ttyHB<P>b: the original
# locks /var/lock/LCK..NAME with NAME taken from the path, and a path under /dev/pts is not what a real cable
# has). The files are created for this lab and unmounted and removed by lab_down. Each node gets its /run/lock
# (the node's /var/lock). Sets SERIAL_SOCAT_PID (the "cable": SIGSTOP pulls it, SIGCONT plugs it back, SIGKILL
# takes the line away: both ends read end of file).
# shellcheck disable=SC2034 # read by the tests
SERIAL_DEV_a=
# shellcheck disable=SC2034 # read by the tests
SERIAL_DEV_b=
SERIAL_SOCAT_PID=
serial_up() {
  local P=$1 S=$LAB_ROOT/$1/serial n dev pts
  command -v socat >/dev/null || fail "setup: socat not installed (apt-get install -y socat)"
  must mkdir -p "$S"
  socat -d -d "pty,link=$S/a,raw,echo=0" "pty,link=$S/b,raw,echo=0" 2>"$S/socat.log" &
  SERIAL_SOCAT_PID=$!
  record_pid "$P" "$SERIAL_SOCAT_PID"
  wait_for 5 eval "[ -e $S/a ] && [ -e $S/b ]" || fail "setup: socat made no pty pair (see $S/socat.log)"
  for n in a b; do
    dev=/dev/ttyHB$P$n
    [ ! -e "$dev" ] || fail "setup: $dev already exists"
    pts=$(readlink -f "$S/$n")
    must touch "$dev"
    echo "$dev" >>"$LAB_ROOT/$P/serial_devs"
    must mount --bind "$pts" "$dev"
    [ -c "$dev" ] || fail "setup: $dev is not a character device after the bind mount"
    must mkdir -p "$LAB_ROOT/$P/$n/run/lock"
    eval "SERIAL_DEV_$n=\$dev"
  done
}

# ---------------------------------------------------------------------------------------------------------------
# Added for the benchmarks that run several labs side by side (bench-idle.sh, bench-realtime.sh)
#
# labs_settle SETTLE_S T_STARTED LABS...: in each lab both nodes log the other active (at most 15 s each), then wait
# until SETTLE_S seconds have passed since T_STARTED (a now_ms value).
labs_settle() {
  local settle=$1 t0=$2 P
  shift 2
  for P in "$@"; do
    LAB_P=$P
    assert "lab $P: a logs b active" wait_for 15 log_has a 'Status update for node b: status active'
    assert "lab $P: b logs a active" wait_for 15 log_has b 'Status update for node a: status active'
  done
  while [ $(($(now_ms) - t0)) -lt $((settle * 1000)) ]; do sleep 0.2; done
}
