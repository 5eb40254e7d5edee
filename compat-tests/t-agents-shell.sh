#!/bin/sh
# compat-tests/t-agents-shell.sh -- our /etc/ha.d shell files and packaging/install.sh.
#
#  1. install.sh lays a built tree out under a temporary DESTDIR (modes, links, HA_BIN,
#     manifest) and refuses a tree without binaries.
#  2. shellfuncs, harc and the rc.d scripts, from that DESTDIR (ha_log, ha_clustermsg on a
#     FIFO, ha_parameter against the installed original's, harc dispatch, rc.d/hb_takeover).
#  3. each shell agent, as installed, runs start/status/stop in throwaway directories, a
#     private mount namespace (Filesystem, AudibleAlarm's console) or a network namespace
#     (portblock, apache); where the original agent of the same name can run here safely it
#     runs the same sequence and its stdout and exit statuses must be the same as ours.
#  4. two nodes of our daemon (compat-tests/lib.sh) with the installed /etc/ha.d: a group of
#     our agents starts on a, moves to b when a stops; a message sent with our ha_clustermsg
#     runs an rc.d script through our harc on both nodes.
# Root only (namespaces, mounts, loop devices); prints "SKIP: ..." for what this machine
# cannot run, and ends with "N passed, N failed, N skipped".
set -u

REPO=$(cd "$(dirname "$0")/.." && pwd)
ORIG=/etc/ha.d/resource.d

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: t-agents-shell.sh needs root (mount and network namespaces, loop devices)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi

T=$(mktemp -d /tmp/t-agents.XXXXXX)
NS=tas$$
LOOPS=
cleanup() {
	for l in $LOOPS; do losetup -d "$l" 2>/dev/null; done
	ip netns del "$NS" 2>/dev/null
	if [ -f "$T/ringer.pid" ]; then kill "$(cat "$T/ringer.pid")" 2>/dev/null; fi
	if [ -f "$T/pids" ]; then
		while read -r p; do kill "$p" 2>/dev/null; done <"$T/pids"
	fi
	if [ "$FAIL" -eq 0 ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT

# The helpers, in a file that the parts run in namespaces source too.
cat >"$T/fns.sh" <<'FNS'
PASS=0
FAIL=0
SKIPS=0
ok() {
	PASS=$((PASS + 1))
	echo "ok   $*"
}
bad() {
	FAIL=$((FAIL + 1))
	echo "FAIL $*"
}
skip() {
	SKIPS=$((SKIPS + 1))
	echo "SKIP: $*"
}
# check DESC CMD...: CMD must succeed.
check() {
	d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
# same DESC A B: two strings must be equal.
same() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		bad "$1"
		printf '  ours:     %s\n  original: %s\n' "$2" "$3" | sed 's/$/|/'
	fi
}

# run AGENT ARGS...: "stdout|rc" of one run (each stdout line followed by ';', the agent's
# path replaced by AGENT).
run() {
	agent=$1
	out=$("$@" 2>/dev/null)
	rc=$?
	if [ -n "$out" ]; then
		out=$(printf '%s\n' "$out" | sed "s%$agent%AGENT%g" | tr '\n' ';')
	fi
	printf '%s|%s' "$out" "$rc"
}
# compare NAME "ARGS" OP...: run the sequence with ours then the original; same results.
# A sequence must end in the state it started from.
compare() {
	name=$1 args=$2
	shift 2
	ours= orig=
	for op in "$@"; do
		# shellcheck disable=SC2086 # ARGS is a word list on purpose
		ours="$ours $op:$(run "$R/$name" $args "$op")"
	done
	if [ ! -x "$ORIG/$name" ]; then
		skip "$name: the original is not installed; ours ran:$ours"
		return
	fi
	for op in "$@"; do
		# shellcheck disable=SC2086
		orig="$orig $op:$(run "$ORIG/$name" $args "$op")"
	done
	same "$name $args: $* (stdout and status as the original)" "$ours" "$orig"
}

# usage_same NAME: the agent without arguments prints the same usage and status as the
# original's.
usage_same() {
	ours=$(run "$R/$1")
	if [ -x "$ORIG/$1" ]; then
		same "$1 without arguments (usage and status as the original)" "$ours" "$(run "$ORIG/$1")"
	else
		skip "$1: the original is not installed"
	fi
}
FNS
. "$T/fns.sh"

# ---------------------------------------------------------------------------------------
echo "== 1. packaging/install.sh"
BIN=$T/bin
mkdir -p "$BIN"
for b in heartbeat hb_standby hb_takeover cl_status ResourceManager mach_down req_resource hb_addnode hb_delnode ha_logger; do
	printf '#!/bin/sh\necho %s "$@"\n' "$b" >"$BIN/$b"
	chmod 755 "$BIN/$b"
done
if [ -d "$REPO/crates/hb-agents" ]; then
	real=${CARGO_TARGET_DIR:-$REPO/target}/release/hb-ipagent
	if [ -x "$real" ]; then
		cp "$real" "$BIN/hb-ipagent"
		echo "   (using the built $real)"
	else
		# A stand-in with the real program's usage text.
		printf '#!/bin/sh\necho "usage: hb-ipagent {IPaddr|IPaddr2|IPsrcaddr|SendArp} SPEC {start|stop|status|monitor}" >&2\necho "(or link IPaddr, IPaddr2, IPsrcaddr, SendArp or findif to it)" >&2\nexit 1\n' >"$BIN/hb-ipagent"
		chmod 755 "$BIN/hb-ipagent"
		echo "   (hb-ipagent not built: a stand-in answers for it)"
	fi
fi

D=$T/root
if sh "$REPO/packaging/install.sh" "$D" --bindir "$BIN" --libdir /usr/lib64 --version 9.9 \
	--manifest "$T/files" >"$T/install.out" 2>&1; then
	ok "install.sh exits 0"
else
	bad "install.sh exits 0"
	cat "$T/install.out"
fi
H=$D/usr/lib64/heartbeat
mode() { stat -c %a "$1" 2>/dev/null; }
for b in heartbeat hb_standby hb_takeover; do
	same "HALIB/$b mode" "$(mode "$H/$b")" 755
done
same "cl_status mode 2555" "$(mode "$D/usr/bin/cl_status")" 2555
check "manifest: cl_status hacluster:haclient" grep -qx '%attr(2555,hacluster,haclient) /usr/bin/cl_status' "$T/files"
check "manifest: cores/hacluster" grep -qx '%dir %attr(0700,hacluster,root) /var/lib/heartbeat/cores/hacluster' "$T/files"
for c in root nobody hacluster; do
	same "cores/$c mode" "$(mode "$D/var/lib/heartbeat/cores/$c")" 700
done
same "cores/hacluster owner (root run)" "$(stat -c %U "$D/var/lib/heartbeat/cores/hacluster" 2>/dev/null)" \
	"$(id -un hacluster 2>/dev/null || echo root)"
check "/var/run/heartbeat" test -d "$D/var/run/heartbeat"
# shellcheck disable=SC2016 # the line is matched as written
check "HA_BIN set to HALIB in shellfuncs" grep -qx ': "${HA_BIN=/usr/lib64/heartbeat}"' "$D/etc/ha.d/shellfuncs"
same "harc mode" "$(mode "$D/etc/ha.d/harc")" 755
for f in status ip-request ip-request-resp ask_resources hb_takeover; do
	same "rc.d/$f mode" "$(mode "$D/etc/ha.d/rc.d/$f")" 755
done
for a in AudibleAlarm Delay Filesystem LVM MailTo OCF Xinetd apache portblock; do
	same "resource.d/$a mode" "$(mode "$D/etc/ha.d/resource.d/$a")" 755
done
same "hto-mapfuncs mode" "$(mode "$D/etc/ha.d/resource.d/hto-mapfuncs")" 644
check "/etc/ha.d/checks is the commented sample" cmp -s "$REPO/etc-ha.d/checks" "$D/etc/ha.d/checks"
for f in ha.cf haresources authkeys checks; do
	# The samples name this HALIB (the ipfail line of ha.cf).
	check "sample $f in the doc directory" eval "sed 's%/usr/lib/heartbeat/%/usr/lib64/heartbeat/%g' \"\$REPO/etc-ha.d/$f\" | cmp -s - \"\$D/usr/share/doc/heartbeat-9.9/$f\""
done
if [ -d "$REPO/crates/hb-agents" ]; then
	for n in IPaddr IPaddr2 IPsrcaddr SendArp; do
		same "resource.d/$n -> hb-ipagent" "$(readlink "$D/etc/ha.d/resource.d/$n")" /usr/lib64/heartbeat/hb-ipagent
	done
	same "HALIB/findif -> hb-ipagent" "$(readlink "$H/findif")" hb-ipagent
else
	skip "crates/hb-agents does not exist: no IP agent links to check"
fi
if [ -f "$REPO/packaging/heartbeat.init" ]; then
	check "init script" test -x "$D/etc/init.d/heartbeat"
else
	check "no init script while packaging/heartbeat.init is missing" test ! -e "$D/etc/init.d/heartbeat"
fi
# Every installed file is in the manifest, but /etc/ha.d/shellfuncs: the RPM links it to
# HALIB/shellfuncs at install time unless resource-agents provides it.
check "HALIB/shellfuncs is /etc/ha.d/shellfuncs" cmp -s "$H/shellfuncs" "$D/etc/ha.d/shellfuncs"
missing=$(cd "$D" && find . ! -type d ! -path ./etc/ha.d/shellfuncs | sed 's/^\.//' | while read -r f; do
	grep -q " $f\$\|^$f\$" "$T/files" || echo "$f"
done)
same "every installed file is in the manifest" "$missing" ""
mkdir "$T/nobin"
if sh "$REPO/packaging/install.sh" "$T/root2" --bindir "$T/nobin" >"$T/install2.out" 2>&1; then
	bad "install.sh refuses a tree without binaries"
else
	check "install.sh refuses a tree without binaries, naming the binary" grep -q 'heartbeat is missing' "$T/install2.out"
fi
check "nothing installed then" test ! -e "$T/root2/etc"
if sh "$REPO/packaging/install.sh" >/dev/null 2>&1; then bad "install.sh without DESTDIR fails"; else ok "install.sh without DESTDIR fails"; fi

if command -v shellcheck >/dev/null 2>&1; then
	check "shellcheck of every shell file" shellcheck -s sh -x "$REPO/etc-ha.d/shellfuncs" "$REPO/etc-ha.d/harc" \
		"$REPO"/etc-ha.d/rc.d/* "$REPO"/etc-ha.d/resource.d/AudibleAlarm "$REPO"/etc-ha.d/resource.d/Delay \
		"$REPO"/etc-ha.d/resource.d/Filesystem "$REPO"/etc-ha.d/resource.d/LVM "$REPO"/etc-ha.d/resource.d/MailTo \
		"$REPO"/etc-ha.d/resource.d/OCF "$REPO"/etc-ha.d/resource.d/Xinetd "$REPO"/etc-ha.d/resource.d/apache \
		"$REPO"/etc-ha.d/resource.d/portblock "$REPO"/etc-ha.d/resource.d/hto-mapfuncs "$REPO/packaging/install.sh"
else
	skip "shellcheck not installed"
fi

# ---------------------------------------------------------------------------------------
echo "== 2. shellfuncs, harc, rc.d"
E=$D/etc/ha.d
R=$E/resource.d
export HA_DIR="$E" HA_FUNCS="$E/shellfuncs" HA_LOGFILE="$T/ha-log" HA_DEBUGLOG="$T/ha-debug"
export HA_DATEFMT="%Y/%m/%d_%T	" HA_RSCTMP="$T/rsctmp" HA_VARRUN="$T/run/" HA_CURHOST=nodea
mkdir -p "$T/run"

sh -c '. "$HA_FUNCS"; HA_LOGTAG="tag[1]"; ha_log "info: hello world"'
check "ha_log line: tag, TAB, date, text" grep -Eq '^tag\[1\]:	[0-9]{4}/[0-9]{2}/[0-9]{2}_[0-9:]{8}	info: hello world$' "$T/ha-log"
check "ha_log copies to the debug log" grep -q 'info: hello world' "$T/ha-debug"

mkfifo "$T/fifo"
(timeout 5 cat "$T/fifo" >"$T/fifo.out") &
reader=$!
printf 't=labmsg\nfoo=bar baz\n\nempty=\n' | HA_FIFO="$T/fifo" sh -c '. "$HA_FUNCS"; ha_clustermsg'
wait $reader
same "ha_clustermsg frames the message, one write" "$(cat "$T/fifo.out")" "$(printf '>>>\nt=labmsg\nfoo=bar baz\nempty=\n<<<')"
if printf 't=x\n' | HA_FIFO="$T/not-a-fifo" sh -c '. "$HA_FUNCS"; ha_clustermsg'; then
	bad "ha_clustermsg refuses a path that is not a FIFO"
else
	check "ha_clustermsg refuses a path that is not a FIFO (no file made)" test ! -e "$T/not-a-fifo"
fi

printf '# sample\nkeepalive 2\ndeadtime   30  # comment\nNode a\nnode b\nudpport 694\n' >"$T/ha.cf"
printf 'udpport 694\n' >"$T/ha2.cf"
for cf in "$T/ha.cf" "$T/ha2.cf"; do
	for p in keepalive deadtime node udpport nothing; do
		ours=$(HA_CF=$cf sh -c '. "$HA_FUNCS"; ha_parameter "$1"' x "$p")
		if [ -f /etc/ha.d/shellfuncs ]; then
			orig=$(HA_CF=$cf bash -c '. /etc/ha.d/shellfuncs; ha_parameter "$1"' x "$p" 2>/dev/null)
			same "ha_parameter $p (${cf##*/}) as the original" "$ours" "$orig"
		fi
	done
done

sh -c '. "$HA_FUNCS"; ha_pseudo_resource t1 start && ha_pseudo_resource t1 status'
check "ha_pseudo_resource start/status (creates HA_RSCTMP)" test -f "$T/rsctmp/t1"
if sh -c '. "$HA_FUNCS"; ha_pseudo_resource t1 stop; ha_pseudo_resource t1 status'; then
	bad "ha_pseudo_resource stop"
else ok "ha_pseudo_resource stop"; fi

: >"$T/ha-log"
HA_st=dead HA_src=nodeb "$E/harc" status
same "harc status exit 0" $? 0
check "harc logs what it runs" grep -q "info: Running $E/rc.d/status status" "$T/ha-log"
check "rc.d/status logs the death, moves nothing" grep -q 'node nodeb is dead' "$T/ha-log"
"$E/harc" nosuch
same "harc of a missing script exits 1" $? 1
check "harc logs the missing script" grep -q "ERROR: $E/harc: $E/rc.d/nosuch: not executable" "$T/ha-log"
"$E/harc" ../harc
same "harc refuses a type with a slash" $? 1

mkdir -p "$T/halib"
printf '#!/bin/sh\necho "$@" >>"%s"\n' "$T/standby.args" >"$T/halib/hb_standby"
chmod 755 "$T/halib/hb_standby"
for hold in all local foreign; do
	HA_BIN=$T/halib HA_src=nodeb HA_rsc_hold=$hold "$E/harc" hb_takeover
done
HA_BIN=$T/halib HA_src=nodea HA_rsc_hold=all "$E/harc" hb_takeover
same "rc.d/hb_takeover asks hb_standby for the complement, ignores its own" \
	"$(tr '\n' ' ' <"$T/standby.args")" "all foreign local "
for s in ip-request ip-request-resp ask_resources; do
	HA_src=nodeb HA_dest=nodea HA_ipaddr=IPaddr::192.0.2.9 HA_ok=OK HA_rsc_hold=all "$E/harc" "$s"
	same "rc.d/$s exits 0" $? 0
done

# ---------------------------------------------------------------------------------------
echo "== 3. agents"
# Delay (the original's monitor would sleep 30 s: mondelay 0 for it).
export OCF_RESKEY_mondelay=0
compare Delay "0.2 0.1" status start start status stop stop status
usage_same Delay
start=$(date +%s%N)
"$R/Delay" 1 0 start >/dev/null 2>&1
t1=$((($(date +%s%N) - start) / 1000000))
start=$(date +%s%N)
"$R/Delay" 1 0 start >/dev/null 2>&1
t2=$((($(date +%s%N) - start) / 1000000))
"$R/Delay" 1 0 stop >/dev/null 2>&1
check "Delay 1 start takes 1 s (${t1} ms), again at once (${t2} ms)" test "$t1" -ge 1000 -a "$t2" -lt 800
same "Delay with a bad delay: exit 2" "$(run "$R/Delay" x start)" "ERROR:  Illegal argument;|2"

# MailTo with a fake mail program.
mkdir -p "$T/fakebin"
printf '#!/bin/sh\n{ echo "ARGS: $*"; cat; } >>"%s"\n' "$T/mail.out" >"$T/fakebin/mail"
chmod 755 "$T/fakebin/mail"
OPATH=$PATH
PATH=$T/fakebin:$PATH
compare MailTo "root@example.com WebSite" status start status stop status
usage_same MailTo
subjects=$(sed -n 's/^ARGS: -s \(.*\) at .* \(on\|from\) .* root@example.com$/\1 \2/p' "$T/mail.out" | tr '\n' ';')
if [ -x "$ORIG/MailTo" ]; then
	same "MailTo subjects as the original (ours twice, then the original's)" "$subjects" \
		"WebSite Takeover in progress on;WebSite Migrating resource away from;WebSite Takeover in progress on;WebSite Migrating resource away from;"
else
	same "MailTo subjects" "$subjects" "WebSite Takeover in progress on;WebSite Migrating resource away from;"
fi
rm -f "$T/fakebin/mail"
same "MailTo without a mail program: start exit 5" "$(run "$R/MailTo" a@b.example s start)" "ERROR:  Program is not installed;|5"
PATH=$OPATH

# AudibleAlarm, its console being a file, in a private mount namespace.
: >"$T/console"
cat >"$T/alarm.sh" <<EOF
mount --bind "$T/console" /dev/console || exit 99
. "$T/fns.sh"
T='$T' R='$R' ORIG='$ORIG'
compare AudibleAlarm "" status start status stop status
compare AudibleAlarm "\$(uname -n)" start status stop
"$R/AudibleAlarm" start >/dev/null 2>&1
sleep 2.5
n=\$(wc -c <"$T/console")
"$R/AudibleAlarm" stop >/dev/null 2>&1
check "AudibleAlarm rings the console bell (\$n byte in the console file)" test "\$n" -ge 1
same "AudibleAlarm stopped ringer is gone" "\$(run "$R/AudibleAlarm" status)" "stopped;INFO:  Resource is stopped;|7"
echo "PASS=\$PASS FAIL=\$FAIL SKIPS=\$SKIPS" >"$T/counts"
EOF
# sub SCRIPT: run SCRIPT (which sources fns.sh) and add its counts.
sub() {
	"$@"
	if [ -f "$T/counts" ]; then
		sp=0 sf=0 ss=0
		eval "$(sed 's/PASS=/sp=/; s/FAIL=/sf=/; s/SKIPS=/ss=/' "$T/counts")"
		PASS=$((PASS + sp))
		FAIL=$((FAIL + sf))
		SKIPS=$((SKIPS + ss))
		rm -f "$T/counts"
	else
		bad "sub-test $* ended early"
	fi
}
if [ -e /dev/console ]; then
	sub unshare -m --propagation private sh "$T/alarm.sh"
else
	skip "AudibleAlarm: no /dev/console to bind over"
fi

# Filesystem on a loop device, in a private mount namespace.
if command -v mkfs.ext2 >/dev/null && command -v losetup >/dev/null && truncate -s 16M "$T/fs.img" &&
	mkfs.ext2 -q -L hbagtest "$T/fs.img" && LOOP=$(losetup -f --show "$T/fs.img" 2>/dev/null); then
	LOOPS="$LOOPS $LOOP"
	if ! command -v modprobe >/dev/null; then
		echo "   (no modprobe: the original Filesystem cannot run here; install kmod)"
		ORIGFS=/nonexistent
	else
		ORIGFS=$ORIG
	fi
	cat >"$T/fs.sh" <<EOF
. "$T/fns.sh"
T='$T' R='$R' ORIG='$ORIGFS'
M=$T/mnt
compare Filesystem "$LOOP \$M/ ext2" status start start status stop stop status
compare Filesystem "-Lhbagtest \$M ext2 ro" start status stop status
compare Filesystem "/dev/hbag-none \$M ext2" start stop
usage_same Filesystem
"$R/Filesystem" "$LOOP" "\$M" ext2 start >/dev/null 2>&1
mkdir -p "\$M/sub"
"$R/Filesystem" none "\$M/sub" tmpfs size=1m start >/dev/null 2>&1
check "Filesystem: tmpfs below it mounted" grep -q " \$M/sub tmpfs" /proc/mounts
(cd "\$M/sub" && exec sleep 60) &
busy=\$!
sleep 0.3
same "Filesystem stop of a busy filesystem with a submount" "\$(run "$R/Filesystem" "$LOOP" "\$M" ext2 stop)" "INFO:  Success;|0"
check "Filesystem: nothing left mounted" sh -c "! grep -q ' \$M' /proc/mounts"
sleep 0.2
check "Filesystem: the process using it was stopped" sh -c "! kill -0 \$busy 2>/dev/null"
echo "PASS=\$PASS FAIL=\$FAIL SKIPS=\$SKIPS" >"$T/counts"
EOF
	sub unshare -m --propagation private sh "$T/fs.sh"
else
	skip "Filesystem: no loop device or mkfs.ext2 here"
fi

# portblock in a network namespace (the original is not compared: where iptables lists the
# protocol by number, as here, it cannot see its own rule).
if command -v iptables >/dev/null && ip netns add "$NS" 2>/dev/null; then
	cat >"$T/pb.sh" <<EOF
. "$T/fns.sh"
T='$T' R='$R'
drops() { iptables -n -L INPUT | grep -c '^DROP'; }
P=$R/portblock
for step in "block status|portblock DROP rule [tcp 80,443 block] is inactive;INFO:  Resource is stopped;|7|0" \
	"block start|INFO:  Success;|0|1" "block start|INFO:  Success;|0|1" \
	"block status|portblock DROP rule [tcp 80,443 block] is running (OK);INFO:  Running OK;|0|1" \
	"unblock start|INFO:  Success;|0|0" \
	"unblock status|portblock DROP rule [tcp 80,443 unblock] is running (OK);INFO:  Running OK;|0|0" \
	"unblock stop|INFO:  Success;|0|1" "unblock stop|INFO:  Success;|0|1" \
	"unblock status|portblock DROP rule [tcp 80,443 unblock] is inactive;INFO:  Resource is stopped;|7|1" \
	"block stop|INFO:  Success;|0|0" "block stop|INFO:  Success;|0|0"; do
	args=\${step%%|*}
	want=\${step#*|}
	got="\$(run "\$P" tcp 80,443 \$args)|\$(drops)"
	same "portblock tcp 80,443 \$args (output|status|DROP rules)" "\$got" "\$want"
done
same "portblock bad protocol: exit 6" "\$(run "\$P" icmp 1 block start)" "ERROR:  Program is not configured;|6"
same "portblock udp single port" "\$(run "\$P" udp 53 block start)|\$(drops)" "INFO:  Success;|0|1"
same "portblock udp single port status" "\$(run "\$P" udp 53 block status)" "portblock DROP rule [udp 53 block] is running (OK);INFO:  Running OK;|0"
echo "PASS=\$PASS FAIL=\$FAIL SKIPS=\$SKIPS" >"$T/counts"
EOF
	sub ip netns exec "$NS" sh "$T/pb.sh"
else
	skip "portblock: no iptables or no network namespace"
fi

# Xinetd against a stand-in xinetd process and service directory.
mkdir -p "$T/xinetd.d" "$T/xbin"
printf 'service hbtest\n{\n\tsocket_type = stream\n\tdisable     = yes # off\n}\n' >"$T/xinetd.d/hbtest"
export XINETD_DIR=$T/xinetd.d
same "Xinetd start without xinetd running: exit 5" "$(run "$R/Xinetd" hbtest start)" "ERROR:  Program is not installed;|5"
printf '#!/bin/sh\ntrap "echo HUP >>%s/hups" HUP\nwhile :; do sleep 0.1; done\n' "$T" >"$T/xbin/xinetd"
chmod 755 "$T/xbin/xinetd"
"$T/xbin/xinetd" &
echo $! >>"$T/pids"
sleep 0.3
same "Xinetd status (disabled)" "$(run "$R/Xinetd" hbtest status)" "INFO:  Resource is stopped;|7"
same "Xinetd start" "$(run "$R/Xinetd" hbtest start)" "INFO:  Success;|0"
check "Xinetd start: disable = no, comment kept" grep -q '^	disable     = no # off$' "$T/xinetd.d/hbtest"
same "Xinetd start again" "$(run "$R/Xinetd" hbtest start)" "INFO:  Success;|0"
same "Xinetd status (enabled)" "$(run "$R/Xinetd" hbtest status)" "INFO:  Running OK;|0"
same "Xinetd stop" "$(run "$R/Xinetd" hbtest stop)" "INFO:  Success;|0"
check "Xinetd stop: disable = yes" grep -q '^	disable     = yes # off$' "$T/xinetd.d/hbtest"
sleep 0.3
same "Xinetd: one SIGHUP per change" "$(cat "$T/hups" 2>/dev/null | tr '\n' ' ')" "HUP HUP "
same "Xinetd usage" "$(run "$R/Xinetd" hbtest)" "Usage: AGENT <xinetd-service-name> (start|stop|status|usage|meta-data);|1"
unset XINETD_DIR

# LVM: what this machine can run (no device-mapper in most containers).
if command -v vgchange >/dev/null; then
	export LVM_SUPPRESS_FD_WARNINGS=1
	compare LVM "hbag_novg" status stop start
	same "LVM without arguments: usage, exit 1" "$(run "$R/LVM")" "usage: AGENT <volume-group> (start|stop|status|usage|meta-data);|1"
	skip "LVM: activating a real volume group is not tested here (needs device-mapper; compared only on a missing group)"
else
	skip "LVM: lvm2 not installed"
fi

# OCF with resource-agents' Dummy.
if [ -x /usr/lib/ocf/resource.d/heartbeat/Dummy ]; then
	mkdir -p "$E/conf/OCF/Dummy"
	echo "OCF_RESKEY_state=$T/dummy.state  # where Dummy keeps its state" >"$E/conf/OCF/Dummy/one"
	O=$R/OCF
	same "OCF status (stopped)" "$(run "$O" Dummy one status)" "OCF Resource Dummy::one is stopped;|7"
	same "OCF start" "$(run "$O" Dummy one start)" "|0"
	check "OCF: the instance file's variables reached the agent" test -f "$T/dummy.state"
	same "OCF status (running)" "$(run "$O" Dummy one status)" "OCF Resource Dummy::one is running;|0"
	same "OCF monitor" "$(run "$O" Dummy one monitor)" "|0"
	same "OCF stop" "$(run "$O" Dummy one stop)" "|0"
	same "OCF status after stop" "$(run "$O" Dummy one status)" "OCF Resource Dummy::one is stopped;|7"
	same "OCF without an instance file: exit 1" "$(run "$O" Dummy two start)" "|1"
	same "OCF with an unknown agent: exit 1" "$(run "$O" hbagNope one start)" "|1"
	same "OCF with two arguments: exit 1" "$(run "$O" Dummy start)" "|1"
	# An administrator's own v1 wrapper in the 2.0.8 style (ra_execocf), on our hto-mapfuncs
	# and on the original's.
	n=0
	for lib in "$R/hto-mapfuncs" "$ORIG/hto-mapfuncs"; do
		n=$((n + 1))
		mkdir -p "$T/wrap$n"
		{
			echo '#!/bin/sh'
			echo 'usage() { echo "usage: $0 {start|stop|status}"; exit 1; }'
			echo ". '$lib'"
			echo "OCF_TYPE=Dummy OCF_RESOURCE_INSTANCE=mydummy OCF_RESKEY_state='$T/mydummy.state'"
			echo 'export OCF_TYPE OCF_RESOURCE_INSTANCE OCF_RESKEY_state'
			echo 'ra_execocf "$1"'
		} >"$T/wrap$n/MyDummy"
		chmod 755 "$T/wrap$n/MyDummy"
	done
	a= b=
	for op in status start status stop status; do a="$a $op:$(run "$T/wrap1/MyDummy" "$op")"; done
	same "an admin's 2.0.8-style wrapper on our hto-mapfuncs" "$a" \
		" status:INFO:  Resource is stopped;|7 start:INFO:  Success;|0 status:INFO:  Running OK;|0 stop:INFO:  Success;|0 status:INFO:  Resource is stopped;|7"
	if [ -f "$ORIG/hto-mapfuncs" ]; then
		for op in status start status stop status; do b="$b $op:$(run "$T/wrap2/MyDummy" "$op")"; done
		same "... and the same on the original's hto-mapfuncs" "$a" "$b"
	fi
else
	skip "OCF: resource-agents' Dummy agent not installed"
fi

# apache, in a network namespace, with a minimal configuration (Debian's module paths).
HTTPD_BIN=$(command -v apache2 httpd 2>/dev/null | head -n 1)
MODS=/usr/lib/apache2/modules
if [ -n "$HTTPD_BIN" ] && [ -f "$MODS/mod_mpm_event.so" ] && ip netns list | grep -q "^$NS\b"; then
	mkdir -p "$T/ap/htdocs"
	cat >"$T/ap/httpd.conf" <<EOF
ServerRoot $T/ap
Listen 127.0.0.1:18080
PidFile $T/ap/httpd.pid
ErrorLog $T/ap/error.log
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule status_module $MODS/mod_status.so
ServerName localhost
User nobody
Group nogroup
DocumentRoot $T/ap/htdocs
<Location /server-status>
SetHandler server-status
</Location>
EOF
	cat >"$T/ap.sh" <<EOF
. "$T/fns.sh"
T='$T' R='$R' ORIG='$ORIG'
ip link set lo up
compare apache "$T/ap/httpd.conf" status start start status stop stop status
same "apache with a missing configuration: exit 5" "\$(run "$R/apache" $T/ap/none.conf start)" "ERROR:  Program is not installed;|5"
echo "PASS=\$PASS FAIL=\$FAIL SKIPS=\$SKIPS" >"$T/counts"
EOF
	sub ip netns exec "$NS" sh "$T/ap.sh"
else
	skip "apache: no Apache server (apache2/httpd with Debian's modules) or no network namespace"
fi

# ---------------------------------------------------------------------------------------
echo "== 4. our daemon with our /etc/ha.d (two nodes in namespaces, lib.sh)"
# Both nodes run our daemon with the installed shellfuncs, harc, rc.d and resource.d; group
# "a Delay MailTo portblock Filesystem(tmpfs)" starts on a, moves to b when a stops, and a
# message sent with our ha_clustermsg runs an rc.d script through our harc on both nodes.
cat >"$T/e2e.sh" <<'E2E'
set -u
T=$1 E=$2
. "$3"
if [ ! -x "$OURS_BIN" ]; then
	echo skipped >"$T/e2e.result"
	skip "our daemon not built ($OURS_BIN)"
fi
command -v iptables >/dev/null || { echo skipped >"$T/e2e.result"; skip "iptables not installed"; }
P=g$$
P=${P:0:10}
lab_up "$P"
GROUP="a Delay::0.1 MailTo::root@example.com::Web portblock::tcp::12345::block Filesystem::none::/var/lib/heartbeat/mnt::tmpfs::size=1m"
for n in a b; do
	write_config $n resources="$GROUP"
	d=$LAB_ROOT/$P/$n/etc
	rm -rf "$d/rc.d" "$d/resource.d" "$d/harc" "$d/shellfuncs" "$d/conf"
	cp -a "$E/shellfuncs" "$E/harc" "$E/rc.d" "$E/resource.d" "$d/"
	printf '#!/bin/sh\nenv | grep "^HA_" | sort >/var/lib/heartbeat/hbagmsg.env\n' >"$d/rc.d/hbagmsg"
	chmod 755 "$d/rc.d/hbagmsg"
done
mkdir -p "$T/e2ebin"
printf '#!/bin/sh\n{ echo "ARGS: $*"; cat; } >>/var/lib/heartbeat/mail.log\n' >"$T/e2ebin/mail"
chmod 755 "$T/e2ebin/mail"
export PATH="$T/e2ebin:$PATH"
rules() { ip netns exec "$P-$1" iptables -n -L INPUT 2>/dev/null | grep -c 'dports 12345'; }
mounted() { local pid; pid=$(node_pid "$P" "$1") && grep -q ' /var/lib/heartbeat/mnt tmpfs ' "/proc/$pid/mounts"; }
holds() { [ "$(rules "$1")" = 1 ] && mounted "$1" && [ -e "$LAB_ROOT/$P/$1/run/heartbeat/rsctmp/Delay_0.1_0.1" ]; }
start_node "$P" a ours
start_node "$P" b ours
assert "a holds the group (portblock rule, tmpfs mounted, Delay mark)" wait_for 30 holds a
assert "b does not" test "$(rules b)" = 0
assert "a's MailTo mailed the takeover" grep -q '^ARGS: -s Web Takeover in progress at .* on a root@example.com$' "$LAB_ROOT/$P/a/lib/mail.log"
node_run "$P" a sh -c '. /etc/ha.d/shellfuncs; printf "t=hbagmsg\nfoo=bar baz\n" | ha_clustermsg'
ran() { grep -qx 'HA_foo=bar baz' "$LAB_ROOT/$P/$1/lib/hbagmsg.env" 2>/dev/null; }
assert "ha_clustermsg + our harc ran rc.d/hbagmsg on a" wait_for 10 ran a
assert "... and on b" wait_for 10 ran b
assert "our harc logged the run" log_has b "info: Running /etc/ha.d/rc.d/hbagmsg hbagmsg"
stop_node "$P" a
assert "b took the group over" wait_for 30 holds b
assert "a's rule is gone" test "$(rules a)" = 0
assert "a's Filesystem unmounted" log_has a "Filesystem: unmounted /var/lib/heartbeat/mnt"
assert "a's MailTo mailed the release" grep -q '^ARGS: -s Web Migrating resource away at .* from a root@example.com$' "$LAB_ROOT/$P/a/lib/mail.log"
assert "b's MailTo mailed the takeover" grep -q '^ARGS: -s Web Takeover in progress at .* on b root@example.com$' "$LAB_ROOT/$P/b/lib/mail.log"
stop_node "$P" b
assert "b's rule is gone after its stop" test "$(rules b)" = 0
echo passed >"$T/e2e.result"
E2E
if command -v bash >/dev/null; then
	# Without the HA_* settings of the parts above: the daemon passes its environment on.
	env -u HA_DIR -u HA_FUNCS -u HA_LOGFILE -u HA_DEBUGLOG -u HA_DATEFMT -u HA_RSCTMP \
		-u HA_VARRUN -u HA_CURHOST -u OCF_RESKEY_mondelay -u LVM_SUPPRESS_FD_WARNINGS \
		bash "$T/e2e.sh" "$T" "$E" "$REPO/compat-tests/lib.sh" >"$T/e2e.out" 2>&1
	case $(cat "$T/e2e.result" 2>/dev/null) in
	passed) ok "two nodes of ours ran the group with our agents, harc and shellfuncs" ;;
	skipped) skip "end to end: $(grep -m1 'SKIP' "$T/e2e.out")" ;;
	*)
		bad "two nodes of ours ran the group with our agents, harc and shellfuncs"
		tail -n 40 "$T/e2e.out"
		;;
	esac
else
	skip "end to end: no bash for lib.sh"
fi

echo "$PASS passed, $FAIL failed, $SKIPS skipped"
[ "$FAIL" -eq 0 ]
