#!/usr/bin/env bash
# t-rpm.sh: the RPM (issue #8), built by packaging/build-rpm.sh and installed into throwaway roots
# (overlays of this machine's / in a private mount namespace, see packaging/tests/rootlib.sh) where rpm,
# useradd, the scriptlets, the init scripts and the daemons run for real.
#
#   1. build (packaging/build-rpm.sh, unless RPM_BUILD=0) and the stand-ins (packaging/tests/
#      build-standins.sh: heartbeat, heartbeat-pils, heartbeat-stonith 2.0.8 STAND-INS with Debian's
#      original heartbeat as payload, and a STAND-IN for what a minimal EL7 provides);
#   2. the binary RPM: every ELF needs glibc <= 2.17 and nothing beyond glibc (objdump -T / -p); its
#      dependencies are only what a minimal EL7 has (no perl, no python); the 2.0.8 layout with owners,
#      modes and %config flags; nothing of the administrator's in it; the source RPM carries the vendored
#      crates and a spec written with the standard macros;
#   3. rpmbuild --rebuild of the source RPM with the network cut (unshare -n), unless RPM_REBUILD=0;
#   4. fresh install on a host that never had heartbeat (uid 17 and gid 65 taken by others): rpm -ivh
#      without --nodeps over the EL7 stand-in, hacluster/haclient created by name, not enabled, not
#      started; the init script: start/status/restart/reload/try-restart/stop with the 2.0.8 messages and
#      LSB statuses, a refused configuration (exit 6 with the config test's errors), no ha.cf, an
#      unknown action; /etc/sysconfig/heartbeat read; the unit's commands; rpm -e of a running node
#      stops it, calls chkconfig --del and leaves the administrator's files;
#   5. upgrade over the 2.0.8 stand-ins: refused while the 2.0.8 daemon runs; after a stop, one rpm -Uvh
#      (no --force, no --nodeps) with heartbeat-pils and heartbeat-stonith installed; the
#      administrator's files (ha.cf, haresources, authkeys 600, own resource script, sysconfig, hb_uuid,
#      hb_generation) untouched; our daemon starts with the same uuid and the next generation; rollback
#      with rpm -Uvh --oldpackage: the 2.0.8 stand-in runs again with the same uuid, next generation;
#      An administrator's edited 2.0.8 stock files (resource.d/IPaddr, rc.d/status) are saved as
#      .rpmsave with rpm's warning; /etc/ha.d/shellfuncs becomes the link to HALIB/shellfuncs;
#   6. a systemd host (systemctl replaced by a recorder in the root; there is no systemd here): the
#      scriptlets reload systemd, enable the unit only when the administrator had enabled the SysV
#      service, the init script redirects to systemctl, erase disables and stops;
#   7. beside resource-agents (a STAND-IN owning /etc/ha.d/shellfuncs, as on EL7): rpm -ivh without
#      --force or --nodeps, its shellfuncs kept (rpm -V clean), our daemon runs a group with our OCF
#      wrapper and its Dummy agent; rpm -e resource-agents puts our link in place; erasing ours
#      leaves its file alone.
# Run as root (about 3 minutes, plus the offline rebuild's ~1 minute):
#   bash compat-tests/t-rpm.sh
# Environment: RPM_DIR (default target/rpm), RPM_BUILD=0 (use the RPMs already in RPM_DIR),
# RPM_REBUILD=0 (skip step 3), LAB_KEEP=1 (keep the roots' files).
# shellcheck disable=SC2086 # ADMIN_FILES and OLD_TRIO are lists, split on purpose
# shellcheck disable=SC2016 # header lines with literal $ names
# shellcheck disable=SC2015 # `A && B || fail` is meant: fail when A or B is false
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
RPM_DIR=${RPM_DIR:-$REPO/target/rpm}

# Before the private namespaces: building may need the network (cargo vendor of crates not cached).
if [ "$(id -u)" = 0 ] && [ -z "${HB_RPM_NS:-}" ]; then
  if [ "${RPM_BUILD:-1}" = 1 ]; then
    echo "== building the RPMs: packaging/build-rpm.sh --out $RPM_DIR"
    t0=$(date +%s)
    sh "$REPO/packaging/build-rpm.sh" --out "$RPM_DIR" || {
      echo "FAIL: packaging/build-rpm.sh failed (see above)" >&2
      exit 1
    }
    echo "== built in $(($(date +%s) - t0)) s"
  fi
  exec unshare --mount --uts --propagation private env HB_RPM_NS=1 bash "$0" "$@"
fi

# shellcheck source=compat-tests/lib.sh
. "$HERE/lib.sh"
# shellcheck source=packaging/tests/rootlib.sh
. "$REPO/packaging/tests/rootlib.sh"
# shellcheck disable=SC2154 # rc is assigned in the trap itself
trap 'rc=$?; root_kill_all; (exit $rc); lab_cleanup' EXIT

for t in rpm rpmbuild rpm2archive objdump tar sha256sum; do
  command -v "$t" >/dev/null || fail "setup: $t not found (apt-get install rpm binutils)"
done
OURS=$(find "$RPM_DIR" -maxdepth 1 -name 'heartbeat-[0-9]*.x86_64.rpm' 2>/dev/null | sort | head -n 1)
SRPM=$(find "$RPM_DIR" -maxdepth 1 -name 'heartbeat-[0-9]*.src.rpm' 2>/dev/null | sort | head -n 1)
[ -n "$OURS" ] && [ -n "$SRPM" ] || fail "setup: no heartbeat RPMs in $RPM_DIR (packaging/build-rpm.sh)"
OURS_NAME=${OURS##*/}
OURS_NEVR=$(rpm -qp --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}' "$OURS")
VERSION=$(rpm -qp --qf '%{VERSION}' "$OURS")
HALIB=/usr/lib64/heartbeat
STANDINS=$LAB_ROOT/standins
sh "$REPO/packaging/tests/build-standins.sh" "$STANDINS" >/dev/null || fail "setup: building the stand-ins"
OLD=heartbeat-2.0.8-1.x86_64.rpm
OLD_TRIO="heartbeat-2.0.8-1.x86_64.rpm heartbeat-pils-2.0.8-1.x86_64.rpm heartbeat-stonith-2.0.8-1.x86_64.rpm"
BASE=el7-minimal-standin-7-1.x86_64.rpm
RA=resource-agents-4.1.1-1.standin.x86_64.rpm
hostname node1 || fail "setup: hostname (UTS namespace)"
mkdir -p "$RPM_T"
rpm_netns_up
note "testing $OURS_NAME (and ${SRPM##*/})"

# --- helpers -----------------------------------------------------------------------------------

# has TEXT PATTERN: TEXT contains the fixed string PATTERN.
has() { case $1 in *"$2"*) return 0 ;; *) return 1 ;; esac; }

# run_in_root CMD...: sets OUT (stdout+stderr) and RC.
run_in_root() {
  OUT=$(in_root "$@" 2>&1)
  RC=$?
}

# expect_rc DESC RC: the last run_in_root ended with RC.
expect_rc() {
  [ "$RC" = "$2" ] || fail "$1: exit status $RC, expected $2; output:
$OUT"
}

# expect_out DESC TEXT: the last output contains TEXT.
expect_out() {
  has "$OUT" "$2" || fail "$1: the output lacks '$2'; output:
$OUT"
}

# copy the RPMs into the current root
stage_rpms() {
  cp "$OURS" "$STANDINS"/*.rpm "$ROOT/tmp/rpms/" || fail "copying the RPMs into the root"
}

# node_config: the administrator's files of a one-node-of-two cluster in the current root (the peer never
# comes: the node takes its group after initdead), with an own resource script that records its
# environment.
node_config() {
  mkdir -p "$ROOT/etc/ha.d/resource.d"
  cat >"$ROOT/etc/ha.d/ha.cf" <<'EOF'
# the administrator's ha.cf
logfacility none
logfile /var/log/ha-log
debugfile /var/log/ha-debug
keepalive 500ms
deadtime 2
warntime 1
initdead 4
udpport 694
bcast eth0
auto_failback on
crm off
node node1
node node2
EOF
  echo "node1 AdminMarker::hello" >"$ROOT/etc/ha.d/haresources"
  printf 'auth 1\n1 sha1 the-admins-secret\n' >"$ROOT/etc/ha.d/authkeys"
  chmod 600 "$ROOT/etc/ha.d/authkeys"
  cat >"$ROOT/etc/ha.d/resource.d/AdminMarker" <<'EOF'
#!/bin/sh
# the administrator's own resource script
m=/var/lib/adminmarker
case $2 in
start) env >"$m.env"; echo "$1" >"$m.state" ;;
stop) rm -f "$m.state" ;;
status) if [ -f "$m.state" ]; then echo running; else echo stopped; fi ;;
esac
exit 0
EOF
  chmod 755 "$ROOT/etc/ha.d/resource.d/AdminMarker"
}

# The administrator's files whose content must survive every package operation.
ADMIN_FILES="/etc/ha.d/ha.cf /etc/ha.d/haresources /etc/ha.d/authkeys /etc/ha.d/resource.d/AdminMarker
/etc/sysconfig/heartbeat /var/lib/heartbeat/hb_uuid /var/lib/heartbeat/hb_generation"

daemon_up() { root_daemon_pid >/dev/null; }
# daemon_exe: the program the root's running daemon is (its /proc/PID/exe, as seen from here).
daemon_exe() { readlink "/proc/$(root_daemon_pid)/exe"; }
# shellfuncs_is_ours: /etc/ha.d/shellfuncs is the package's link to HALIB/shellfuncs.
shellfuncs_is_ours() { [ -L "$ROOT/etc/ha.d/shellfuncs" ] && [ "$(readlink "$ROOT/etc/ha.d/shellfuncs")" = "$HALIB/shellfuncs" ]; }
daemon_down() { ! root_daemon_pid >/dev/null; }
marker_running() { [ -f "$ROOT/var/lib/adminmarker.state" ]; }
marker_stopped() { [ ! -f "$ROOT/var/lib/adminmarker.state" ]; }
gen_of() { tr -dc '0-9' <"$ROOT/var/lib/heartbeat/hb_generation" 2>/dev/null; }
uuid_of() { od -An -tx1 "$ROOT/var/lib/heartbeat/hb_uuid" 2>/dev/null | tr -d ' \n'; }

# initd ACTION: the installed init script; sets OUT and RC.
initd() { run_in_root /etc/init.d/heartbeat "$1"; }

# start_via_init WHAT [nogroup]: start with the init script, wait for the daemon and (unless nogroup) for
# the group. (The 2.0.8 stand-in, Debian's 3.0.6, does not take its own group on a node whose peer never
# came, so for it only the daemon is awaited.)
start_via_init() {
  initd start
  expect_rc "$1: /etc/init.d/heartbeat start" 0
  assert "$1: the daemon runs after start" wait_for 10 daemon_up
  case $(daemon_exe) in
  *"$HALIB/heartbeat") ;;
  *) fail "$1: the init script started $(daemon_exe), not $HALIB/heartbeat" ;;
  esac
  [ "${2:-}" = nogroup ] ||
    assert "$1: the node takes its group (AdminMarker started) within 30 s" wait_for 30 marker_running
}

# stop_via_init WHAT: stop with the init script; the daemon must be gone and its group stopped. (A stop
# within 10 s of taking the group waits for that "resource transition" to end first, as 2.0.8 does.)
stop_via_init() {
  initd stop
  expect_rc "$1: /etc/init.d/heartbeat stop" 0
  assert "$1: the daemon is gone after stop" wait_for 10 daemon_down
  marker_stopped || fail "$1: the group (AdminMarker) still runs after stop"
}

# --- 2. the binary and source RPMs -------------------------------------------------------------------
note "2. the binary RPM: shipped programs and glibc"
"$REPO/packaging/tests/check-elf.sh" --max-glibc 2.17 "$OURS" || fail "glibc/library check of $OURS_NAME"

note "2. dependencies (nothing a minimal EL7 lacks)"
reqs=$(rpm -qpR "$OURS" | sort -u)
echo "$reqs" | while IFS= read -r r; do echo "    requires: $r"; done
glibc_libs='(libc\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libm\.so\.6|libutil\.so\.1)'
bad=$(echo "$reqs" | grep -Ev '^(/bin/sh|chkconfig|shadow-utils|config\(heartbeat\) = .*|rtld\(GNU_HASH\)|rpmlib\(.*\) <= .*)$' |
  grep -Ev "^${glibc_libs}\\(GLIBC_2\\.([0-9]|1[0-7])(\\.[0-9]+)?\\)\\(64bit\\)\$" |
  grep -Ev "^(${glibc_libs}|libgcc_s\\.so\\.1)\\(\\)\\(64bit\\)\$" |
  grep -Ev '^libgcc_s\.so\.1\(GCC_[0-9.]+\)\(64bit\)$')
[ -z "$bad" ] || fail "the RPM requires what a minimal EL7 may lack: $bad"
echo "$reqs" | grep -Eqi 'perl|python' && fail "the RPM requires perl or python"

note "2. layout, owners, modes and config flags (2.0.8 paths)"
listing=$LAB_ROOT/listing
rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEFLAGS:fflags}| %{FILENAMES}\n]' "$OURS" >"$listing"
expect_entry() {
  grep -qxF -- "$1" "$listing" || fail "the RPM lacks the entry '$1' (see $listing)"
}
expect_entry "drwxr-xr-x root root | $HALIB"
expect_entry "-rwxr-xr-x root root | $HALIB/heartbeat"
expect_entry "-rwxr-xr-x root root | $HALIB/hb_standby"
expect_entry "-rwxr-xr-x root root | $HALIB/hb_takeover"
expect_entry "-rwxr-xr-x root root | $HALIB/ipfail"
for f in ResourceManager mach_down req_resource hb_addnode hb_delnode ha_logger; do
  expect_entry "-rwxr-xr-x root root | $HALIB/$f"
done
expect_entry "lrwxrwxrwx root root | $HALIB/send_arp"
expect_entry "-rwxr-xr-x root root | $HALIB/dopd"
expect_entry "-rwxr-xr-x root root | $HALIB/drbd-peer-outdater"
expect_entry "drwxr-x--- hacluster haclient | /var/run/heartbeat/crm"
expect_entry "-r-xr-sr-x hacluster haclient | /usr/bin/cl_status"
expect_entry "drwxr-xr-x root root | /etc/ha.d"
# Stock scripts are %config (c): an administrator's edited copy is saved as .rpmsave, never
# silently replaced. /etc/ha.d/shellfuncs is not in the package (resource-agents may own it): the
# scriptlets link it to HALIB/shellfuncs.
expect_entry "-rwxr-xr-x root root c| /etc/ha.d/harc"
expect_entry "-rw-r--r-- root root | $HALIB/shellfuncs"
grep -q '| /etc/ha\.d/shellfuncs$' "$listing" && fail "the RPM lists /etc/ha.d/shellfuncs (resource-agents owns it on EL7)"
expect_entry "-rw-r--r-- root root cn| /etc/ha.d/checks"
for f in ask_resources hb_takeover ip-request ip-request-resp status; do
  expect_entry "-rwxr-xr-x root root c| /etc/ha.d/rc.d/$f"
done
expect_entry "drwxr-xr-x root root | /etc/ha.d/resource.d"
expect_entry "lrwxrwxrwx root root c| /etc/ha.d/resource.d/IPaddr"
expect_entry "-rwxr-xr-x root root c| /etc/ha.d/resource.d/Filesystem"
for f in README.md INSTALL.md CONFIG.md SERVICE-CHECKS.md COMPATIBILITY.md MIGRATING-TO-PACEMAKER.md ha.cf \
  haresources authkeys checks heartbeat.sysconfig; do
  grep -q "| /usr/share/doc/heartbeat-$VERSION/$f\$" "$listing" || fail "the RPM lacks the document $f"
done
expect_entry "-rwxr-xr-x root root c| /etc/init.d/heartbeat"
expect_entry "-rw-r--r-- root root cn| /etc/logrotate.d/heartbeat"
expect_entry "drwxr-xr-x root root | /var/lib/heartbeat"
expect_entry "drwx------ root root | /var/lib/heartbeat/cores/root"
expect_entry "drwx------ nobody root | /var/lib/heartbeat/cores/nobody"
expect_entry "drwx------ hacluster root | /var/lib/heartbeat/cores/hacluster"
expect_entry "drwxr-xr-x root root | /var/run/heartbeat"
expect_entry "-rw-r--r-- root root | /usr/lib/systemd/system/heartbeat.service"
for m in man8/heartbeat.8 man1/cl_status.1 man1/ha_logger.1 man1/hb_standby.1 man1/hb_takeover.1 man5/heartbeat-checks.5; do
  grep -Eq "^-rw-r--r-- root root d\| /usr/share/man/$m(\.gz)?\$" "$listing" || fail "the RPM lacks the man page $m"
done
grep -Eq '\| /etc/ha\.d/(ha\.cf|haresources|authkeys)$|\| /etc/sysconfig/' "$listing" &&
  fail "the RPM contains a file the administrator writes: $(grep -E '\| /etc/ha\.d/(ha\.cf|haresources|authkeys)$|\| /etc/sysconfig/' "$listing")"
rpm -qpi "$OURS" | grep -q "heartbeat-rs $VERSION" || fail "the package description does not name heartbeat-rs $VERSION"
note "   $(wc -l <"$listing") entries; cl_status 2555 hacluster:haclient, init script %config, logrotate %config(noreplace)"

note "2. the source RPM: vendored crates, spec with the standard macros"
srcx=$LAB_ROOT/srpm
mkdir -p "$srcx"
rpm2archive - <"$SRPM" | tar -xzf - -C "$srcx" || fail "unpacking ${SRPM##*/}"
[ -f "$srcx/heartbeat.spec" ] || fail "no heartbeat.spec in the source RPM"
tar -tzf "$srcx/heartbeat-$VERSION.tar.gz" >"$srcx/contents" || fail "reading the source tarball"
for f in "heartbeat-$VERSION/.cargo/config.toml" "heartbeat-$VERSION/vendor/libc-" "heartbeat-$VERSION/vendor/mio-" \
  "heartbeat-$VERSION/Cargo.lock" "heartbeat-$VERSION/packaging/install.sh"; do
  grep -q "^$f" "$srcx/contents" || fail "the source tarball lacks $f"
done
for m in '%{_libdir}' '%{_initrddir}' '%{_unitdir}' '%{_mandir}' '%{_sysconfdir}'; do
  grep -qF "$m" "$srcx/heartbeat.spec" || fail "the spec does not use $m"
done
sed -n '/^%install/,/^%changelog/p' "$srcx/heartbeat.spec" | grep -v '^#' | grep -E '/usr/lib64|/etc/rc\.d/init\.d' |
  grep -v "s|/usr/lib64/heartbeat|" && fail "the spec's %install/%files hard-code a path a macro gives"
note "   $(grep -c '/vendor/[^/]*/Cargo.toml$' "$srcx/contents") vendored crates; spec uses %{_libdir} %{_initrddir} %{_unitdir} %{_mandir}"

# --- 3. offline rebuild -----------------------------------------------------------------------------
if [ "${RPM_REBUILD:-1}" = 1 ]; then
  note "3. rpmbuild --rebuild of the source RPM with no network (unshare -n)"
  rb=$LAB_ROOT/rebuild
  mkdir -p "$rb"
  t0=$(now_ms)
  unshare -n rpmbuild --define "_topdir $rb/top" --rebuild "$SRPM" >"$rb/log" 2>&1 ||
    fail "rpmbuild --rebuild offline failed: $(grep -v 'Macro expanded' "$rb/log" | tail -n 20)"
  rebuilt=$(find "$rb/top/RPMS" -name 'heartbeat-*.rpm' | head -n 1)
  [ -n "$rebuilt" ] || fail "rpmbuild --rebuild made no binary RPM"
  diff <(rpm -qpl "$OURS") <(rpm -qpl "$rebuilt") >"$rb/diff" ||
    fail "the rebuilt RPM's file list differs from $OURS_NAME: $(cat "$rb/diff")"
  note "   rebuilt offline in $((($(now_ms) - t0) / 1000)) s: ${rebuilt##*/}, same file list"
else
  note "3. SKIPPED (RPM_REBUILD=0): rpmbuild --rebuild offline"
fi

# --- 4. fresh install -------------------------------------------------------------------------------
note "4. fresh install on a host without heartbeat (uid 17 and gid 65 taken)"
root_new fresh
stage_rpms
in_root sh -c 'getent group 65 >/dev/null || groupadd -g 65 other65; getent passwd 17 >/dev/null || useradd -M -u 17 other17' ||
  fail "setup: occupying uid 17 and gid 65"
run_in_root rpm --dbpath /var/lib/rpm -ivh "/tmp/rpms/$BASE"
expect_rc "installing the EL7 stand-in" 0
run_in_root rpm --dbpath /var/lib/rpm -ivh "/tmp/rpms/$OURS_NAME"
expect_rc "rpm -ivh $OURS_NAME (without --nodeps) over the EL7 stand-in" 0
hac_uid=$(in_root id -u hacluster) || fail "hacluster was not created"
hac_gid=$(in_root getent group haclient | cut -d: -f3) || fail "haclient was not created"
assert_eq "hacluster's primary group" "$(in_root id -gn hacluster)" haclient
[ "$hac_uid" != 17 ] && [ "$hac_gid" != 65 ] || fail "hacluster/haclient took the ids 17/65 that belong to others"
assert_eq "cl_status on disk" "$(in_root stat -c '%a %U %G' /usr/bin/cl_status)" "2555 hacluster haclient"
assert_eq "cores/hacluster on disk" "$(in_root stat -c '%a %U' /var/lib/heartbeat/cores/hacluster)" "700 hacluster"
[ ! -s "$ROOT/var/log/chkconfig.calls" ] || fail "installing called chkconfig: $(cat "$ROOT/var/log/chkconfig.calls")"
daemon_down || fail "installing started the daemon"
[ ! -e "$ROOT/etc/sysconfig/heartbeat" ] || fail "the package created /etc/sysconfig/heartbeat"
run_in_root rpm --dbpath /var/lib/rpm -V heartbeat
expect_rc "rpm -V heartbeat after the install" 0
shellfuncs_is_ours || fail "no other package provides /etc/ha.d/shellfuncs, yet it is not the link to $HALIB/shellfuncs"
for f in README.md INSTALL.md CONFIG.md SERVICE-CHECKS.md COMPATIBILITY.md MIGRATING-TO-PACEMAKER.md; do
  [ -s "$ROOT/usr/share/doc/heartbeat-$VERSION/$f" ] || fail "/usr/share/doc/heartbeat-$VERSION/$f is missing"
done
grep -q "respawn hacluster $HALIB/ipfail" "$ROOT/usr/share/doc/heartbeat-$VERSION/ha.cf" ||
  fail "the sample ha.cf does not name this package's ipfail ($HALIB/ipfail)"
grep -v '^#' "$ROOT/etc/ha.d/checks" | grep -q . && fail "the sample /etc/ha.d/checks is not all comments"
note "   installed; hacluster uid $hac_uid, haclient gid $hac_gid (by name); not enabled, not started; shellfuncs -> $HALIB/shellfuncs"

note "4. the init script (no /etc/rc.d/init.d/functions here)"
for h in '# chkconfig: 2345 75 05' '# processname: heartbeat' '# pidfile: /var/run/heartbeat.pid' '# config: /etc/ha.d/ha.cf' \
  '### BEGIN INIT INFO' '# Provides: heartbeat' '# Required-Start: $network $time $syslog' '# Default-Start: 3 5' \
  '# Default-Stop: 0 6' '### END INIT INFO'; do
  grep -qxF -- "$h" "$ROOT/etc/init.d/heartbeat" || fail "the init script lacks the header line '$h'"
done
[ ! -e "$ROOT/etc/rc.d/init.d/functions" ] || fail "setup: this root has EL's init functions"
initd start
expect_rc "start without ha.cf" 6
expect_out "start without ha.cf" "Heartbeat not configured: /etc/ha.d/ha.cf not found."
initd stop
expect_rc "stop without ha.cf (nothing runs)" 0
initd status
expect_rc "status of a node never started" 3
expect_out "status of a node never started" "heartbeat is stopped. No process"
node_config
mkdir -p "$ROOT/etc/sysconfig"
cp "$ROOT/usr/share/doc/heartbeat-$VERSION/heartbeat.sysconfig" "$ROOT/etc/sysconfig/heartbeat" ||
  fail "the sample sysconfig is not in the doc directory"
printf 'ADMIN_MARK=from-sysconfig\nexport ADMIN_MARK\n' >>"$ROOT/etc/sysconfig/heartbeat"
echo "frobnicate yes" >>"$ROOT/etc/ha.d/ha.cf"
initd start
expect_rc "start with an unknown directive" 6
expect_out "start with an unknown directive" "Starting High-Availability services:  Heartbeat failure [rc=6]. Failed."
expect_out "start with an unknown directive" "ERROR: ha.cf:$(wc -l <"$ROOT/etc/ha.d/ha.cf"): unknown directive 'frobnicate'"
daemon_down || fail "a refused configuration started the daemon"
sed -i '/^frobnicate/d' "$ROOT/etc/ha.d/ha.cf"
chmod 644 "$ROOT/etc/ha.d/authkeys"
initd start
expect_rc "start with authkeys mode 644" 6
expect_out "start with authkeys mode 644" "authkeys: mode 0644, must be 0600"
chmod 600 "$ROOT/etc/ha.d/authkeys"
t0=$(now_ms)
start_via_init "fresh"
expect_out "start" "Starting High-Availability services: Done."
note "   start: '$(echo "$OUT" | head -n 1)'; group up $(($(now_ms) - t0)) ms later"
grep -qx 'ADMIN_MARK=from-sysconfig' "$ROOT/var/lib/adminmarker.env" ||
  fail "/etc/sysconfig/heartbeat's exported variable did not reach the resource script"
[ -f "$ROOT/run/lock/subsys/heartbeat" ] || fail "start did not touch /var/lock/subsys/heartbeat"
initd status
expect_rc "status of a running node" 0
expect_out "status of a running node" "heartbeat OK [pid $(root_daemon_pid) et al] is running on node1 [node1]..."
pid1=$(root_daemon_pid)
initd start
expect_rc "start of a running node" 0
assert_eq "the daemon after a second start" "$(root_daemon_pid)" "$pid1"
initd reload
expect_rc "reload" 0
expect_out "reload" "Reloading High-Availability services: Done."
initd bogus
expect_rc "an unknown action" 2
expect_out "an unknown action" "Usage: /etc/init.d/heartbeat {start|stop|status|restart|reload|force-reload}"
gen_before=$(gen_of)
t0=$(now_ms)
initd restart
expect_rc "restart" 0
expect_out "restart" "Stopping High-Availability services: Done."
expect_out "restart" "Waiting to allow resource takeover to complete:Done."
expect_out "restart" "Starting High-Availability services: Done."
assert "restart: the daemon runs again" wait_for 10 daemon_up
[ "$(root_daemon_pid)" != "$pid1" ] || fail "restart kept the same daemon"
assert_eq "generation after restart" "$(gen_of)" "$((gen_before + 1))"
note "   restart took $((($(now_ms) - t0) / 1000)) s (stop, deadtime + 10 s as 2.0.8, start)"
assert "restart: the group comes back" wait_for 30 marker_running
stop_via_init "fresh"
expect_out "stop" "Stopping High-Availability services: Done."
[ ! -f "$ROOT/run/lock/subsys/heartbeat" ] || fail "stop left /var/lock/subsys/heartbeat"
initd status
expect_rc "status after stop" 3
initd try-restart
expect_rc "try-restart of a stopped node" 0
daemon_down || fail "try-restart started a stopped node"
touch "$ROOT/run/lock/subsys/heartbeat"
initd status
expect_rc "status: not running with the subsys lock" 2
rm -f "$ROOT/run/lock/subsys/heartbeat"

note "4. the systemd unit's commands (run here as systemd would run them; no systemd on this machine)"
unit=$ROOT/usr/lib/systemd/system/heartbeat.service
for kv in Type=forking PIDFile=/run/heartbeat.pid EnvironmentFile=-/etc/sysconfig/heartbeat \
  "ExecStartPre=$HALIB/heartbeat -t" "ExecStart=$HALIB/heartbeat" "ExecStop=$HALIB/heartbeat -k" \
  "ExecReload=$HALIB/heartbeat -r" KillMode=process WantedBy=multi-user.target ConditionPathExists=/etc/ha.d/ha.cf; do
  grep -qxF -- "$kv" "$unit" || fail "heartbeat.service lacks '$kv'"
done
# systemd's own parser, on a copy whose command paths point into the root (verify wants them to exist).
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$LAB_ROOT/verify"
  sed "s|$HALIB/|$ROOT$HALIB/|g" "$unit" >"$LAB_ROOT/verify/heartbeat.service"
  systemd-analyze verify --man=no "$LAB_ROOT/verify/heartbeat.service" >"$LAB_ROOT/verify/out" 2>&1 ||
    fail "systemd-analyze verify heartbeat.service: $(cat "$LAB_ROOT/verify/out")"
  note "   systemd-analyze verify: no complaint"
else
  note "   (systemd-analyze not installed: the unit's syntax is checked by its lines only)"
fi
# unit_cmd KEY: run the unit's KEY= command line in the root with the EnvironmentFile's variables.
unit_cmd() {
  local cmd
  cmd=$(sed -n "s/^$1=//p" "$unit")
  # shellcheck disable=SC2086 # the command line is split as systemd splits it (no quoting in it)
  run_in_root sh -c 'set -a; [ -r /etc/sysconfig/heartbeat ] && . /etc/sysconfig/heartbeat; set +a; exec "$@"' sh $cmd
}
echo "frobnicate yes" >>"$ROOT/etc/ha.d/ha.cf"
unit_cmd ExecStartPre
expect_rc "unit ExecStartPre with a refused configuration" 6
expect_out "unit ExecStartPre" "unknown directive 'frobnicate'"
sed -i '/^frobnicate/d' "$ROOT/etc/ha.d/ha.cf"
unit_cmd ExecStartPre
expect_rc "unit ExecStartPre with a good configuration" 0
unit_cmd ExecStart
expect_rc "unit ExecStart (Type=forking: the parent exits 0)" 0
# systemd reads PIDFile= as soon as the parent exits: it must already name the daemon then (else
# "PID file ... not readable (yet?) after start" at every start).
daemon_up || fail "unit: ExecStart returned before the PIDFile named the daemon"
assert "unit: the group starts" wait_for 30 marker_running
unit_cmd ExecStop
expect_rc "unit ExecStop" 0
daemon_down || fail "unit: the daemon still runs after ExecStop returned"
marker_stopped || fail "unit: the group still runs after ExecStop returned"

note "4. rpm -e of a running node"
start_via_init "before erase"
before=$(sha_of $ADMIN_FILES)
run_in_root rpm --dbpath /var/lib/rpm -e heartbeat
expect_rc "rpm -e heartbeat" 0
expect_out "rpm -e heartbeat" "Stopping High-Availability services: Done."
daemon_down || fail "rpm -e left the daemon running"
marker_stopped || fail "rpm -e left the group running"
grep -qx 'chkconfig --del heartbeat' "$ROOT/var/log/chkconfig.calls" || fail "rpm -e did not call chkconfig --del heartbeat"
assert_eq "the administrator's files after rpm -e" "$(sha_of $ADMIN_FILES)" "$before"
for f in $HALIB/heartbeat /etc/ha.d/harc /etc/init.d/heartbeat /usr/bin/cl_status /etc/ha.d/shellfuncs; do
  [ ! -e "$ROOT$f" ] && [ ! -L "$ROOT$f" ] || fail "rpm -e left $f"
done
note "   erased: daemon stopped (resources released), chkconfig --del, ha.cf/haresources/authkeys/AdminMarker/sysconfig/hb_uuid/hb_generation kept"

# --- 5. upgrade over 2.0.8 and rollback ------------------------------------------------------------------
note "5. upgrade over the heartbeat 2.0.8 STAND-INS (with heartbeat-pils and heartbeat-stonith)"
root_new upgrade
stage_rpms
run_in_root rpm --dbpath /var/lib/rpm -ivh "/tmp/rpms/$BASE"
expect_rc "installing the EL7 stand-in" 0
# shellcheck disable=SC2086
run_in_root sh -c "cd /tmp/rpms && rpm --dbpath /var/lib/rpm -ivh $OLD_TRIO"
expect_rc "installing the 2.0.8 stand-ins" 0
node_config
mkdir -p "$ROOT/etc/sysconfig"
printf '# the administrator'"'"'s own, from before the upgrade\nHA_BIN=/usr/lib64/heartbeat\nADMIN_MARK=kept\nexport ADMIN_MARK\n' \
  >"$ROOT/etc/sysconfig/heartbeat"
ln -s ../init.d/heartbeat "$ROOT/etc/rc3.d/S75heartbeat" # as chkconfig heartbeat on makes it
old_daemon_sha=$(sha256sum <"$ROOT$HALIB/heartbeat")
old_rm_sha=$(sha256sum <"$ROOT$HALIB/ResourceManager")
start_via_init "2.0.8 stand-in" nogroup
has_identity() { [ "$(uuid_of | wc -c)" = 32 ] && [ -n "$(gen_of)" ]; }
assert "the 2.0.8 stand-in writes hb_uuid and hb_generation" wait_for 10 has_identity
uuid0=$(uuid_of)
gen0=$(gen_of)
[ ${#uuid0} = 32 ] && [ -n "$gen0" ] || fail "the 2.0.8 stand-in wrote no hb_uuid/hb_generation"
note "   the 2.0.8 stand-in runs: uuid $uuid0, generation $gen0"

run_in_root rpm --dbpath /var/lib/rpm -Uvh "/tmp/rpms/$OURS_NAME"
[ "$RC" != 0 ] || fail "rpm -Uvh under a running 2.0.8 daemon was not refused"
expect_out "rpm -Uvh under a running daemon" "heartbeat is running (pid"
assert_eq "the installed heartbeat after the refusal" "$(rrpm -q heartbeat)" "heartbeat-2.0.8-1.x86_64"
assert_eq "the 2.0.8 daemon binary after the refusal" "$(sha256sum <"$ROOT$HALIB/heartbeat")" "$old_daemon_sha"
[ -x "$ROOT$HALIB/ResourceManager" ] || fail "the refused upgrade removed 2.0.8's files"
daemon_up || fail "the refused upgrade stopped the 2.0.8 daemon"
note "   refused while the 2.0.8 daemon runs: '$(echo "$OUT" | grep 'heartbeat is running' | head -n 1)'"

stop_via_init "2.0.8 stand-in"
# The administrator had edited two of 2.0.8's stock files: a resource script (ours is a link to
# hb-ipagent) and an rc.d script. Each must be saved as .rpmsave with rpm's warning.
for f in resource.d/IPaddr rc.d/status; do
  [ -f "$ROOT/etc/ha.d/$f" ] && [ ! -L "$ROOT/etc/ha.d/$f" ] || fail "setup: the 2.0.8 stand-in has no file /etc/ha.d/$f"
  echo "# edited by the administrator" >>"$ROOT/etc/ha.d/$f"
done
edited=$(sha_of /etc/ha.d/resource.d/IPaddr /etc/ha.d/rc.d/status)
before=$(sha_of $ADMIN_FILES)
authkeys_mode=$(stat -c %a "$ROOT/etc/ha.d/authkeys")
: >"$ROOT/var/log/chkconfig.calls"
run_in_root rpm --dbpath /var/lib/rpm -Uvh "/tmp/rpms/$OURS_NAME"
expect_rc "rpm -Uvh $OURS_NAME over 2.0.8 (no --force, no --nodeps)" 0
assert_eq "installed packages" "$(rrpm -q heartbeat heartbeat-pils heartbeat-stonith | tr '\n' ' ')" \
  "$OURS_NEVR heartbeat-pils-2.0.8-1.x86_64 heartbeat-stonith-2.0.8-1.x86_64 "
assert_eq "the administrator's files after the upgrade" "$(sha_of $ADMIN_FILES)" "$before"
assert_eq "authkeys mode after the upgrade" "$(stat -c %a "$ROOT/etc/ha.d/authkeys")" "$authkeys_mode"
for f in $HALIB/BasicSanityCheck /etc/ha.d/resource.d/ICP $HALIB/plugins; do
  [ ! -e "$ROOT$f" ] || fail "the upgrade left 2.0.8's $f"
done
[ "$(sha256sum <"$ROOT$HALIB/ResourceManager")" != "$old_rm_sha" ] || fail "the upgrade left 2.0.8's ResourceManager"
# 2.0.8's HALIB programs that we ship are ours now.
for f in ResourceManager mach_down req_resource hb_addnode hb_delnode ha_logger send_arp dopd drbd-peer-outdater; do
  assert_eq "the package owning $HALIB/$f after the upgrade" "$(rrpm -qf "$HALIB/$f")" "$OURS_NEVR"
done
[ -e "$ROOT/usr/lib64/libpils.so.2" ] || fail "heartbeat-pils' files went away"
sed "s%@HALIB@%$HALIB%g" "$REPO/packaging/heartbeat.init" | cmp -s - "$ROOT/etc/init.d/heartbeat" ||
  fail "/etc/init.d/heartbeat is not ours after the upgrade"
for f in resource.d/IPaddr rc.d/status; do
  expect_out "the upgrade over an edited $f" "warning: /etc/ha.d/$f saved as /etc/ha.d/$f.rpmsave"
done
assert_eq "the administrator's edited stock files, saved" \
  "$(sha_of /etc/ha.d/resource.d/IPaddr.rpmsave /etc/ha.d/rc.d/status.rpmsave)" "$(echo "$edited" | sed 's/$/.rpmsave/')"
assert_eq "resource.d/IPaddr after the upgrade" "$(readlink "$ROOT/etc/ha.d/resource.d/IPaddr")" "$HALIB/hb-ipagent"
cmp -s "$ROOT/etc/ha.d/rc.d/status" "$REPO/etc-ha.d/rc.d/status" || fail "rc.d/status is not ours after the upgrade"
[ ! -e "$ROOT/etc/ha.d/rc.d/ip-request.rpmsave" ] || fail "an unedited stock file was saved as .rpmsave"
shellfuncs_is_ours || fail "after the upgrade /etc/ha.d/shellfuncs is not the link to $HALIB/shellfuncs"
[ -L "$ROOT/etc/rc3.d/S75heartbeat" ] || fail "the upgrade removed the administrator's rc3.d link"
[ ! -s "$ROOT/var/log/chkconfig.calls" ] || fail "the upgrade called chkconfig: $(cat "$ROOT/var/log/chkconfig.calls")"
daemon_down || fail "the upgrade started the daemon"
run_in_root rpm --dbpath /var/lib/rpm -V heartbeat
expect_rc "rpm -V heartbeat after the upgrade" 0
note "   upgraded in one rpm -Uvh; administrator's files identical; edited stock files saved as .rpmsave; 2.0.8-only files gone; pils/stonith kept"

start_via_init "ours after the upgrade"
assert_eq "uuid after the upgrade" "$(uuid_of)" "$uuid0"
assert_eq "generation after the upgrade" "$(gen_of)" "$((gen0 + 1))"
grep -qx 'ADMIN_MARK=kept' "$ROOT/var/lib/adminmarker.env" || fail "the administrator's sysconfig was not read after the upgrade"
note "   ours runs: same uuid, generation $(gen_of)"
stop_via_init "ours after the upgrade"

note "5. rollback: rpm -Uvh --oldpackage heartbeat-2.0.8 (STAND-IN)"
before=$(sha_of $ADMIN_FILES)
run_in_root rpm --dbpath /var/lib/rpm -Uvh --oldpackage "/tmp/rpms/$OLD"
expect_rc "rpm -Uvh --oldpackage $OLD" 0
assert_eq "installed packages after the rollback" "$(rrpm -q heartbeat heartbeat-pils heartbeat-stonith | tr '\n' ' ')" \
  "heartbeat-2.0.8-1.x86_64 heartbeat-pils-2.0.8-1.x86_64 heartbeat-stonith-2.0.8-1.x86_64 "
assert_eq "the administrator's files after the rollback" "$(sha_of $ADMIN_FILES)" "$before"
assert_eq "the daemon after the rollback" "$(sha256sum <"$ROOT$HALIB/heartbeat")" "$old_daemon_sha"
[ ! -e "$ROOT$HALIB/hb-ipagent" ] || fail "the rollback left our hb-ipagent"
assert_eq "ResourceManager after the rollback (2.0.8's)" "$(sha256sum <"$ROOT$HALIB/ResourceManager")" "$old_rm_sha"
[ -f "$ROOT/etc/ha.d/shellfuncs" ] && [ ! -L "$ROOT/etc/ha.d/shellfuncs" ] ||
  fail "after the rollback /etc/ha.d/shellfuncs is not 2.0.8's file"
in_root getent passwd hacluster >/dev/null || fail "the rollback removed hacluster"
start_via_init "2.0.8 stand-in after the rollback" nogroup
assert_eq "uuid after the rollback" "$(uuid_of)" "$uuid0"
assert_eq "generation after the rollback" "$(gen_of)" "$((gen0 + 2))"
stop_via_init "2.0.8 stand-in after the rollback"
note "   rolled back: the 2.0.8 stand-in runs with the same uuid, generation $(gen_of)"

before=$(sha_of $ADMIN_FILES)
run_in_root rpm --dbpath /var/lib/rpm -Uvh "/tmp/rpms/$OURS_NAME"
expect_rc "upgrading again after the rollback" 0
assert_eq "the administrator's files after upgrading again" "$(sha_of $ADMIN_FILES)" "$before"
shellfuncs_is_ours || fail "after upgrading again /etc/ha.d/shellfuncs is not the link to $HALIB/shellfuncs"

# --- 6. a systemd host ---------------------------------------------------------------------------------
note "6. scriptlets on a systemd host (systemctl replaced by a recorder; no systemd here)"
sysd_root() {
  root_new "$1"
  stage_rpms
  mkdir -p "$ROOT/run/systemd/system"
  cat >"$ROOT/usr/bin/systemctl" <<'EOF'
#!/bin/sh
# test stand-in: records its calls; nothing is enabled
echo "systemctl $*" >>/var/log/systemctl.calls
case " $* " in *" is-enabled "*) exit 1 ;; esac
exit 0
EOF
  chmod 755 "$ROOT/usr/bin/systemctl"
  run_in_root rpm --dbpath /var/lib/rpm -ivh "/tmp/rpms/$BASE"
  expect_rc "installing the EL7 stand-in" 0
}
calls() { tr '\n' ';' <"$ROOT/var/log/systemctl.calls" 2>/dev/null; }
sysd_root sysd1
run_in_root rpm --dbpath /var/lib/rpm -ivh "/tmp/rpms/$OURS_NAME"
expect_rc "fresh install on a systemd host" 0
assert_eq "systemctl calls of a fresh install" "$(calls)" "systemctl daemon-reload;"
node_config
: >"$ROOT/var/log/systemctl.calls"
initd start
expect_rc "init script start on a systemd host" 0
assert_eq "init script start redirected" "$(calls)" "systemctl start heartbeat.service;"
daemon_down || fail "the redirected start ran the daemon itself"
: >"$ROOT/var/log/systemctl.calls"
run_in_root rpm --dbpath /var/lib/rpm -e heartbeat
expect_rc "rpm -e on a systemd host" 0
assert_eq "systemctl calls of rpm -e" "$(calls)" \
  "systemctl --no-reload disable heartbeat.service;systemctl stop heartbeat.service;systemctl daemon-reload;"
sysd_root sysd2
# shellcheck disable=SC2086
run_in_root sh -c "cd /tmp/rpms && rpm --dbpath /var/lib/rpm -ivh $OLD_TRIO"
expect_rc "installing the 2.0.8 stand-ins" 0
ln -s ../init.d/heartbeat "$ROOT/etc/rc3.d/S75heartbeat"
printf 'node1 IPv6addr::2001:db8::1/64 \\\n  AdminMarker::x\n' >"$ROOT/etc/ha.d/haresources"
: >"$ROOT/var/log/systemctl.calls"
run_in_root rpm --dbpath /var/lib/rpm -Uvh "/tmp/rpms/$OURS_NAME"
expect_rc "upgrade on a systemd host" 0
expect_out "upgrade with haresources naming a 2.0.8 agent we do not ship" \
  "warning: /etc/ha.d/haresources uses IPv6addr, which this package does not ship"
has "$OUT" "uses AdminMarker" && fail "the upgrade warned about the administrator's own AdminMarker"
assert_eq "systemctl calls of an upgrade over an enabled 2.0.8" "$(calls)" \
  "systemctl daemon-reload;systemctl -q is-enabled heartbeat.service;systemctl enable heartbeat.service;"
note "   fresh: daemon-reload only; upgrade of a chkconfig-enabled node: unit enabled; init script -> systemctl"

# --- 7. beside resource-agents -------------------------------------------------------------------------
note "7. a host with resource-agents (STAND-IN: it owns /etc/ha.d/shellfuncs, as on EL7)"
root_new ra
stage_rpms
run_in_root rpm --dbpath /var/lib/rpm -ivh "/tmp/rpms/$BASE"
expect_rc "installing the EL7 stand-in" 0
run_in_root rpm --dbpath /var/lib/rpm -ivh "/tmp/rpms/$RA"
expect_rc "installing the resource-agents stand-in" 0
ra_shellfuncs=$(sha_of /etc/ha.d/shellfuncs)
run_in_root rpm --dbpath /var/lib/rpm -ivh "/tmp/rpms/$OURS_NAME"
expect_rc "rpm -ivh $OURS_NAME beside resource-agents (no --force, no --nodeps)" 0
assert_eq "resource-agents' shellfuncs after our install" "$(sha_of /etc/ha.d/shellfuncs)" "$ra_shellfuncs"
[ ! -L "$ROOT/etc/ha.d/shellfuncs" ] || fail "our install replaced resource-agents' shellfuncs by a link"
assert_eq "the owner of /etc/ha.d/shellfuncs" "$(rrpm -qf /etc/ha.d/shellfuncs)" "${RA%.rpm}"
run_in_root rpm --dbpath /var/lib/rpm -V resource-agents
expect_rc "rpm -V resource-agents beside ours" 0
run_in_root rpm --dbpath /var/lib/rpm -V heartbeat
expect_rc "rpm -V heartbeat beside resource-agents" 0
# Our daemon, our OCF wrapper and resource-agents' Dummy agent, with resource-agents' shellfuncs.
node_config
echo "node1 AdminMarker::hello OCF::Dummy::d1" >"$ROOT/etc/ha.d/haresources"
mkdir -p "$ROOT/etc/ha.d/conf/OCF/Dummy"
echo "OCF_RESKEY_state=/var/lib/dummy-d1.state" >"$ROOT/etc/ha.d/conf/OCF/Dummy/d1"
start_via_init "ours beside resource-agents"
assert "beside resource-agents: OCF::Dummy::d1 starts" wait_for 10 test -f "$ROOT/var/lib/dummy-d1.state"
run_in_root env OCF_ROOT=/usr/lib/ocf /usr/lib/ocf/resource.d/heartbeat/Dummy meta-data
expect_rc "resource-agents' Dummy agent beside ours" 0
stop_via_init "ours beside resource-agents"
[ ! -f "$ROOT/var/lib/dummy-d1.state" ] || fail "beside resource-agents: OCF::Dummy::d1 still runs after stop"
note "   installed beside resource-agents: its shellfuncs kept (rpm -V clean); daemon, OCF wrapper and its Dummy agent work with it"
run_in_root rpm --dbpath /var/lib/rpm -e resource-agents
expect_rc "rpm -e resource-agents" 0
shellfuncs_is_ours || fail "after rpm -e resource-agents, /etc/ha.d/shellfuncs is not the link to $HALIB/shellfuncs"
initd status
expect_rc "status after resource-agents left" 3
run_in_root rpm --dbpath /var/lib/rpm -ivh "/tmp/rpms/$RA"
expect_rc "installing resource-agents after ours" 0
assert_eq "resource-agents' shellfuncs, installed after ours" "$(sha_of /etc/ha.d/shellfuncs)" "$ra_shellfuncs"
run_in_root rpm --dbpath /var/lib/rpm -e heartbeat
expect_rc "rpm -e heartbeat beside resource-agents" 0
assert_eq "resource-agents' shellfuncs after rpm -e heartbeat" "$(sha_of /etc/ha.d/shellfuncs)" "$ra_shellfuncs"
run_in_root rpm --dbpath /var/lib/rpm -V resource-agents
expect_rc "rpm -V resource-agents after rpm -e heartbeat" 0
note "   rpm -e resource-agents: our link takes its place; installing it again and erasing ours leave its file alone"

note "PASS: RPM ${OURS_NAME}: glibc <= 2.17, EL7-only deps, 2.0.8 layout, install/init/unit/erase, upgrade and rollback over 2.0.8 (stand-in), edited stock files kept, systemd scriptlets, beside resource-agents (stand-in)"
