#!/usr/bin/env bash
# compat-tests/prereqs.sh demo|test: make sure this machine has what README's demo command
# (compat-tests/demo.sh) or test command (compat-tests/test-all.sh) needs.
#
# Each need is checked by what the scripts actually run (a program, a file), not by a package
# manager's opinion. When something is missing:
#   - as root on a Debian/Ubuntu machine: `apt-get update`, then `apt-get install -y` of the missing
#     packages (as CI does), and `python3 -m pip install ziglang cargo-zigbuild` for the RPM build
#     (test only);
#   - otherwise: a message naming each missing package, and exit 1.
# A Rust toolchain (cargo, at least the workspace's rust-version) is never installed here: the
# message points to https://rustup.rs.
# Not root, `test` checks only what the unprivileged part needs (cargo): the root-only parts are
# skipped by test-all.sh with a loud banner.
set -u
cd "$(dirname "$0")/.." || exit 1
mode=${1:-}
case $mode in
demo | test) ;;
*)
  echo "usage: $0 demo|test" >&2
  exit 2
  ;;
esac
root=no
[ "$(id -u)" = 0 ] && root=yes

# have PACKAGE: the things of PACKAGE that the demo or the tests use are here.
have() {
  case $1 in
  heartbeat) { [ -x /usr/lib/heartbeat/heartbeat ] || [ -x /usr/libexec/heartbeat/heartbeat ]; } &&
    command -v cl_status >/dev/null && [ -f /etc/ha.d/harc ] ;;
  resource-agents) [ -x /usr/lib/ocf/resource.d/heartbeat/IPaddr ] && [ -f /etc/ha.d/shellfuncs ] ;;
  iproute2) command -v ip >/dev/null ;;
  util-linux) command -v unshare >/dev/null && command -v losetup >/dev/null ;;
  gawk) command -v gawk >/dev/null ;;
  iputils-ping) ping -V 2>&1 | grep -q iputils ;;     # resource-agents' agents call it
  iputils-arping) arping -V 2>&1 | grep -q iputils ;; # resource-agents' IPaddr2 (compared with ours)
  tcpdump) command -v tcpdump >/dev/null ;;
  net-tools) command -v ifconfig >/dev/null ;;
  kmod) command -v modprobe >/dev/null ;;
  lvm2) command -v lvcreate >/dev/null ;;
  e2fsprogs) command -v mkfs.ext2 >/dev/null ;;
  rpm) command -v rpmbuild >/dev/null && command -v rpm2archive >/dev/null ;;
  binutils) command -v objdump >/dev/null ;;
  socat) command -v socat >/dev/null ;; # t-serial.sh's null-modem cable (a pty pair)
  shellcheck) command -v shellcheck >/dev/null ;; # t-agents-shell.sh checks the shipped shell files
  cluster-glue) command -v stonith >/dev/null || [ -x /usr/sbin/stonith ] ;; # STONITH plugins, hb-cib's table
  pacemaker-cli-utils) command -v crm_verify >/dev/null && command -v crm_simulate >/dev/null &&
    command -v cibadmin >/dev/null ;; # t-export-cib.sh checks the CIB it exports
  python3-pip) python3 -m pip --version >/dev/null 2>&1 ;;
  iptables) command -v iptables >/dev/null ;; # t-lossy.sh drops packets in the lab's namespaces
  # t-agents-shell.sh compares our apache agent with the original's on a real server (the program
  # and its modules only: apache2-bin starts no service).
  apache2-bin) [ -x /usr/sbin/apache2 ] && [ -f /usr/lib/apache2/modules/mod_mpm_event.so ] ;;
  *) return 1 ;;
  esac
}

# The RPM build (t-rpm.sh) compiles for glibc 2.17 with zig through cargo-zigbuild (pip packages).
have_zig() {
  cargo zigbuild --help >/dev/null 2>&1 && { command -v zig >/dev/null || python3 -m ziglang version >/dev/null 2>&1; }
}

# The Rust toolchain: cargo, at least the rust-version of Cargo.toml.
rust_ok() {
  local want have low
  want=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml)
  have=$(cargo --version 2>/dev/null | awk '{ print $2 }')
  if [ -z "$have" ]; then
    echo "prereqs: cargo not found: install Rust >= $want (https://rustup.rs), then run this again" >&2
    return 1
  fi
  low=$(printf '%s\n%s\n' "$want" "${have%%-*}" | sort -t. -k1,1n -k2,2n -k3,3n | head -n 1)
  if [ "$low" != "$want" ]; then
    echo "prereqs: cargo $have is older than the rust-version $want the workspace needs (rustup update)" >&2
    return 1
  fi
}

rust_ok || exit 1
if [ "$mode" = test ] && [ "$root" = no ]; then
  echo "prereqs: not root: the unit, simulation and fuzz tests need only cargo; the root-only tests are skipped"
  exit 0
fi

pkgs="heartbeat resource-agents iproute2 util-linux gawk"
[ "$mode" = test ] &&
  pkgs="$pkgs cluster-glue pacemaker-cli-utils iputils-ping iputils-arping tcpdump net-tools kmod lvm2 e2fsprogs rpm binutils shellcheck socat python3-pip iptables apache2-bin"
missing=
for p in $pkgs; do have "$p" || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$root" = yes ] && command -v apt-get >/dev/null; then
    echo "== prereqs: installing$missing (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update || { echo "prereqs: apt-get update failed" >&2; exit 1; }
    # shellcheck disable=SC2086 # a list of package names
    apt-get install -y $missing || { echo "prereqs: apt-get install -y$missing failed" >&2; exit 1; }
    still=
    for p in $missing; do have "$p" || still="$still $p"; done
    if [ -n "$still" ]; then
      echo "prereqs: still missing after apt-get install:$still" >&2
      exit 1
    fi
  else
    echo "prereqs: missing on this machine (Debian/Ubuntu package names):$missing" >&2
    if [ "$root" = yes ]; then
      echo "prereqs: there is no apt-get here: install them with this system's package manager" >&2
    else
      echo "prereqs: install them (apt-get install -y$missing) or run this command as root, which does" >&2
    fi
    exit 1
  fi
fi
if [ "$mode" = test ] && ! have_zig; then
  if [ "$root" = yes ]; then
    echo "== prereqs: installing ziglang and cargo-zigbuild (pip), for the RPM build"
    # A distribution's own python3 may refuse (PEP 668): then into it anyway, as root on a test machine.
    python3 -m pip install --quiet ziglang cargo-zigbuild ||
      python3 -m pip install --quiet --break-system-packages ziglang cargo-zigbuild ||
      { echo "prereqs: python3 -m pip install ziglang cargo-zigbuild failed" >&2; exit 1; }
  fi
  have_zig || {
    echo "prereqs: the RPM build needs zig and cargo-zigbuild: python3 -m pip install ziglang cargo-zigbuild" >&2
    exit 1
  }
fi
echo "prereqs: everything the $mode needs is here"
