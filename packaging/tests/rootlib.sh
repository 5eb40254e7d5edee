# shellcheck shell=bash
# packaging/tests/rootlib.sh: throwaway roots for the RPM tests (sourced by compat-tests/t-rpm.sh after
# compat-tests/lib.sh, in a private mount and UTS namespace; needs root).
#
# A root is an overlay of this machine's / (the lower layer, never written) with a private upper layer,
# chrooted into: rpm, useradd/groupadd, the scriptlets, the init scripts and the daemons run in it for
# real, and all they write lands in the upper layer. It has its own /proc, /dev (bind), /run and /tmp
# (tmpfs), /sys (that of $RPM_NS), and runs its commands in the network namespace $RPM_NS (made by rpm_netns_up: a veth pair
# eth0/eth0p, eth0 192.0.2.1/24, so a node's daemon can broadcast its heartbeats to nobody).
# Each root is prepared to look like a host that never had heartbeat: Debian's heartbeat files, rc links
# and the hacluster/haclient accounts are removed in the overlay (Debian's libraries, plugins and
# /usr/share/heartbeat stay: the 2.0.8 stand-in's daemon uses them); /sbin/chkconfig is a stand-in that
# records its calls in /var/log/chkconfig.calls; the rpm database is /var/lib/rpm inside.
#
#   rpm_netns_up / rpm_netns_down   the network namespace $RPM_NS
#   root_new NAME        make root NAME (under $RPM_T) and make it the current one ($ROOT)
#   in_root CMD...       run CMD in the current root (clean environment, network namespace $RPM_NS)
#   rrpm ARGS...         rpm --dbpath /var/lib/rpm ARGS in the current root
#   root_daemon_pid      the pid of the current root's heartbeat daemon (pid file), if it lives
#   root_procs DIR       the pids of every process whose root directory is DIR
#   root_kill_all        kill every process of every root (found by their root directory) and unmount the
#                        roots (the EXIT trap of t-rpm.sh calls it)
#   sha_of PATH...       "sha256  PATH" lines of files in the current root (missing: "missing PATH")

RPM_NS=${RPM_NS:-hbrpm$$}
RPM_T=${RPM_T:-$LAB_ROOT/rpm}
ROOT=

rpm_netns_up() {
  ip netns add "$RPM_NS" || fail "setup: ip netns add $RPM_NS"
  must ip -n "$RPM_NS" link set lo up
  must ip -n "$RPM_NS" link add eth0 type veth peer name eth0p
  must ip -n "$RPM_NS" addr add 192.0.2.1/24 brd + dev eth0
  must ip -n "$RPM_NS" link set eth0 up
  must ip -n "$RPM_NS" link set eth0p up
}

rpm_netns_down() {
  local pids
  ns_exists "$RPM_NS" || return 0
  pids=$(ip netns pids "$RPM_NS" 2>/dev/null)
  # every process in this namespace was started by this test
  # shellcheck disable=SC2086
  [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
  ip netns del "$RPM_NS" 2>/dev/null || echo "warning: could not delete namespace $RPM_NS" >&2
}

# root_new NAME
root_new() {
  local d=$RPM_T/$1
  [ ! -e "$d" ] || fail "root_new: $d exists"
  must mkdir -p "$d/upper" "$d/work" "$d/root"
  must mount -t overlay overlay -o "lowerdir=/,upperdir=$d/upper,workdir=$d/work" "$d/root"
  ROOT=$d/root
  must mount -t proc proc "$ROOT/proc"
  must mount --bind /dev "$ROOT/dev"
  must mount -t tmpfs -o mode=0755 tmpfs "$ROOT/run"
  must mount -t tmpfs -o mode=1777 tmpfs "$ROOT/tmp"
  must mkdir -p "$ROOT/run/lock"
  # A host without heartbeat: no Debian heartbeat files, rc links, unit or accounts.
  rm -rf "$ROOT/etc/ha.d" "$ROOT/etc/init.d/heartbeat" "$ROOT/etc/logrotate.d/heartbeat" \
    "$ROOT/var/lib/heartbeat" "$ROOT/usr/bin/cl_status" "$ROOT/usr/bin/cl_respawn" \
    "$ROOT/usr/lib/systemd/system/heartbeat.service" "$ROOT/lib/systemd/system/heartbeat.service" \
    "$ROOT/etc/sysconfig" "$ROOT/usr/lib64/heartbeat"
  rm -f "$ROOT"/etc/rc[0-6S].d/[SK][0-9][0-9]heartbeat
  in_root sh -c 'userdel hacluster; groupdel haclient' >/dev/null 2>&1
  in_root getent passwd hacluster >/dev/null && fail "root_new: could not remove hacluster in the root"
  in_root getent group haclient >/dev/null && fail "root_new: could not remove haclient in the root"
  cat >"$ROOT/usr/sbin/chkconfig" <<'EOF'
#!/bin/sh
# test stand-in for EL's chkconfig: records its calls
echo "chkconfig $*" >>/var/log/chkconfig.calls
exit 0
EOF
  chmod 0755 "$ROOT/usr/sbin/chkconfig"
  rm -f "$ROOT/var/log/chkconfig.calls" "$ROOT/var/log/ha-log" "$ROOT/var/log/ha-debug"
  must mkdir -p "$ROOT/tmp/rpms" "$ROOT/var/lib/rpm"
  in_root rpm --dbpath /var/lib/rpm --initdb || fail "root_new: rpm --initdb"
}

# in_root CMD...
in_root() {
  [ -n "$ROOT" ] || fail "in_root: no current root"
  # ip netns exec gives every command a mount namespace of its own: sysfs (the namespace's interfaces,
  # which the configuration test looks up in /sys/class/net) is mounted in the root there.
  ip netns exec "$RPM_NS" sh -c 'r=$1; shift; mount -t sysfs sysfs "$r/sys" || exit 125
    exec chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root LANG=C TERM=dumb "$@"' sh "$ROOT" "$@"
}

# rrpm ARGS...
rrpm() {
  in_root rpm --dbpath /var/lib/rpm "$@"
}

# root_daemon_pid: the live pid in the current root's /var/run/heartbeat.pid.
root_daemon_pid() {
  local f=$ROOT/run/heartbeat.pid pid
  [ -f "$f" ] || return 1
  pid=$(tr -dc '0-9' <"$f")
  pid_alive "$pid" || return 1
  echo "$pid"
}

# root_procs DIR: processes whose root directory is DIR (their /proc/PID/root link).
root_procs() {
  local p r
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    [ "$r" = "$1" ] && echo "${p#/proc/}"
  done
}

root_kill_all() {
  local d pids
  for d in "$RPM_T"/*/root; do
    [ -d "$d" ] || continue
    pids=$(root_procs "$d")
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill_tree KILL $pids
  done
  rpm_netns_down
  for d in "$RPM_T"/*/root; do
    [ -d "$d" ] || continue
    umount -l "$d/tmp" "$d/run" "$d/dev" "$d/proc" 2>/dev/null
    umount -l "$d" 2>/dev/null
  done
  return 0
}

# sha_of PATH...: checksums of files of the current root (by their path inside it).
sha_of() {
  local p
  for p in "$@"; do
    if [ -f "$ROOT$p" ]; then
      echo "$(sha256sum <"$ROOT$p" | cut -c1-64)  $p"
    else
      echo "missing $p"
    fi
  done
}
