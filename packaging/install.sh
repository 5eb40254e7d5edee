#!/bin/sh
# packaging/install.sh DESTDIR [options]
#
# Lays the built product out under DESTDIR exactly as the package installs it (the paths of
# heartbeat 2.0.8's RPM; see packaging/README.md). It builds nothing: build first with
#     cargo build --release --workspace
# and it stops with an error naming what is missing.
#
# Options:
#   --libdir DIR     where HALIB lives: DIR/heartbeat (default /usr/lib64 on x86_64, s390x,
#                    ppc64 and aarch64 machines, /usr/lib elsewhere; the RPM spec passes %{_libdir})
#   --bindir DIR     the built binaries (default ${CARGO_TARGET_DIR:-<repo>/target}/release)
#   --initdir DIR    where the init script goes (default /etc/init.d)
#   --version V      the version in /usr/share/doc/heartbeat-V (default: the workspace's)
#   --manifest FILE  also write the RPM %files list, with the modes and owners, to FILE
#
# Run unprivileged (inside rpmbuild), it sets modes but cannot set owners: those are in the
# manifest (%attr). Run as root, it also sets the owners, where the users and groups exist.
set -eu

me=install.sh
repo=$(cd "$(dirname "$0")/.." && pwd)

die() {
	echo "$me: error: $*" >&2
	exit 1
}
say() {
	echo "$me: $*"
}

usage() {
	echo "usage: $me DESTDIR [--libdir DIR] [--bindir DIR] [--initdir DIR] [--version V] [--manifest FILE]" >&2
	exit 2
}

destdir=
libdir=
bindir=
initdir=/etc/init.d
version=
manifest=
while [ $# -gt 0 ]; do
	case $1 in
	--libdir | --bindir | --initdir | --version | --manifest)
		[ $# -ge 2 ] || usage
		case $1 in
		--libdir) libdir=$2 ;;
		--bindir) bindir=$2 ;;
		--initdir) initdir=$2 ;;
		--version) version=$2 ;;
		--manifest) manifest=$2 ;;
		esac
		shift 2
		;;
	-h | --help) usage ;;
	-*) usage ;;
	*)
		[ -z "$destdir" ] || usage
		destdir=$1
		shift
		;;
	esac
done
[ -n "$destdir" ] || usage
destdir=${destdir%/}

if [ -z "$libdir" ]; then
	case $(uname -m) in
	x86_64 | s390x | ppc64 | ppc64le | aarch64) libdir=/usr/lib64 ;;
	*) libdir=/usr/lib ;;
	esac
fi
case $libdir in
/*) ;;
*) die "--libdir must be an absolute path: $libdir" ;;
esac
libdir=${libdir%/}
case $initdir in
/*) ;;
*) die "--initdir must be an absolute path: $initdir" ;;
esac
[ -n "$bindir" ] || bindir=${CARGO_TARGET_DIR:-$repo/target}/release
if [ -z "$version" ]; then
	version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$repo/Cargo.toml")
	[ -n "$version" ] || die "no version given and none found in $repo/Cargo.toml"
fi
halib=$libdir/heartbeat
etc=$repo/etc-ha.d

# Everything that must be there before anything is copied.
halib_tools="hb_standby hb_takeover ResourceManager mach_down req_resource hb_addnode hb_delnode ha_logger"
for b in heartbeat $halib_tools; do
	{ [ -f "$bindir/$b" ] && [ -x "$bindir/$b" ]; } ||
		die "$bindir/$b is missing: build first with 'cargo build --release --workspace' (or give --bindir)"
done
for f in shellfuncs harc ha.cf haresources authkeys checks; do
	[ -f "$etc/$f" ] || die "$etc/$f is missing from the source tree"
done

manifest_tmp=
if [ -n "$manifest" ]; then
	manifest_tmp=$manifest.tmp.$$
	: >"$manifest_tmp"
fi
am_root=no
[ "$(id -u)" = 0 ] && am_root=yes

# note KIND MODE OWNER GROUP PATH: record PATH (as installed) in the manifest, and set its
# owner when running as root. KIND: dir, file, config (%config(noreplace): the administrator's
# edits win, the package's version goes beside as .rpmnew), stock (%config: a stock file of ours
# or of 2.0.8's that the package replaces; an administrator's edited copy is saved as .rpmsave with
# rpm's warning, never silently replaced), link, stocklink (a link under %config, likewise), or
# none (laid out here but not part of the RPM's file list).
note() {
	if [ "$am_root" = yes ] && [ "$2" != - ] && id -u "$3" >/dev/null 2>&1; then
		chown "$3:$4" "$destdir$5" 2>/dev/null || chown "$3" "$destdir$5"
	fi
	[ -n "$manifest_tmp" ] || return 0
	case $1 in
	dir) echo "%dir %attr($2,$3,$4) $5" ;;
	file) echo "%attr($2,$3,$4) $5" ;;
	config) echo "%config(noreplace) %attr($2,$3,$4) $5" ;;
	stock) echo "%config %attr($2,$3,$4) $5" ;;
	link) echo "$5" ;;
	stocklink) echo "%config $5" ;;
	none) ;;
	esac >>"$manifest_tmp"
}

# mkdir_ MODE OWNER GROUP PATH
# (chmod after note: a chown clears the setgid bit)
mkdir_() {
	install -d -m "$1" "$destdir$4"
	note dir "$1" "$2" "$3" "$4"
	chmod "$1" "$destdir$4"
}

# put KIND MODE OWNER GROUP SOURCE PATH
put() {
	install -m "$2" "$5" "$destdir$6"
	note "$1" "$2" "$3" "$4" "$6"
	chmod "$2" "$destdir$6"
}

# link TARGET PATH [KIND]
link() {
	rm -f "$destdir$2"
	ln -s "$1" "$destdir$2"
	note "${3:-link}" - - - "$2"
}

# --- HALIB: the daemon and its tools
install -d "$destdir$libdir"
mkdir_ 0755 root root "$halib"
for b in heartbeat $halib_tools; do
	put file 0755 root root "$bindir/$b" "$halib/$b"
done
say "installed heartbeat and $halib_tools in $halib"

ipagent=no
if [ ! -d "$repo/crates/hb-agents" ]; then
	say "SKIP hb-ipagent: crates/hb-agents does not exist yet; IPaddr, IPaddr2, IPsrcaddr, SendArp, findif and send_arp are not installed"
elif [ ! -x "$bindir/hb-ipagent" ]; then
	die "$bindir/hb-ipagent is missing (crates/hb-agents exists): build first with 'cargo build --release --workspace'"
else
	put file 0755 root root "$bindir/hb-ipagent" "$halib/hb-ipagent"
	ipagent=yes
	# The helper programs of 2.0.8's HALIB that hb-ipagent answers to by name: as the
	# program lists them with --names, or else in its usage text ("... (or link A, B or C
	# to it)").
	if names=$("$bindir/hb-ipagent" --names 2>/dev/null); then
		:
	else
		names=$("$bindir/hb-ipagent" 2>&1 </dev/null | sed -n 's/.*(or link \(.*\) to it).*/\1/p' |
			sed 's/,/ /g; s/ or / /g')
	fi
	names=$(printf '%s' "$names" | tr '\n\t' '  ')
	for name in findif send_arp; do
		case " $names " in
		*" $name "*)
			link hb-ipagent "$halib/$name"
			say "linked $halib/$name -> hb-ipagent"
			;;
		*) say "SKIP $halib/$name: hb-ipagent does not answer to that name" ;;
		esac
	done
fi

# ipfail, once crates/hb-api builds it.
if [ -x "$bindir/ipfail" ]; then
	put file 0755 root root "$bindir/ipfail" "$halib/ipfail"
	say "installed ipfail in $halib"
fi

# DRBD's outdate-peer daemon and handler (crates/hb-dopd), at 2.0.8's paths: ha.cf's
# "respawn hacluster HALIB/dopd" and drbd.conf's outdate-peer handler point there.
for b in dopd drbd-peer-outdater; do
	if [ -x "$bindir/$b" ]; then
		put file 0755 root root "$bindir/$b" "$halib/$b"
		say "installed $b in $halib"
	else
		say "SKIP $halib/$b: not built (crates/hb-dopd)"
	fi
done

# --- cl_status: setgid haclient, as 2.0.8 installs it
install -d "$destdir/usr/bin"
if [ -x "$bindir/cl_status" ]; then
	put file 2555 hacluster haclient "$bindir/cl_status" /usr/bin/cl_status
	say "installed /usr/bin/cl_status (mode 2555, hacluster:haclient in the manifest)"
else
	say "SKIP /usr/bin/cl_status: not built (crates/hb-api)"
fi

# --- shellfuncs: the package's own copy in HALIB (the init script sources it), and
# /etc/ha.d/shellfuncs, which every script sources. resource-agents owns /etc/ha.d/shellfuncs
# on EL7 and Debian (its OCF agents do not use it: they source their own ocf-shellfuncs), so the
# RPM does not list it: its scriptlets link it to HALIB/shellfuncs wherever no other package
# provides it (heartbeat.spec.in, %posttrans). Here, for a plain DESTDIR, it is a copy.
sed "s%^: \"\${HA_BIN=/usr/lib/heartbeat}\"\$%: \"\${HA_BIN=$halib}\"%" "$etc/shellfuncs" >"$destdir$halib/shellfuncs"
grep -qF ": \"\${HA_BIN=$halib}\"" "$destdir$halib/shellfuncs" ||
	die "could not set HA_BIN in shellfuncs (the line ': \"\${HA_BIN=/usr/lib/heartbeat}\"' changed?)"
note file 0644 root root "$halib/shellfuncs"
chmod 0644 "$destdir$halib/shellfuncs"

# --- /etc/ha.d
mkdir_ 0755 root root /etc/ha.d
cp "$destdir$halib/shellfuncs" "$destdir/etc/ha.d/shellfuncs"
note none 0644 root root /etc/ha.d/shellfuncs
chmod 0644 "$destdir/etc/ha.d/shellfuncs"
put stock 0755 root root "$etc/harc" /etc/ha.d/harc
# The service checks: a sample that checks nothing until edited (every line a comment). An
# existing file is the administrator's and stays as it is.
if [ -e "$destdir/etc/ha.d/checks" ]; then
	note config 0644 root root /etc/ha.d/checks
	say "kept the existing $destdir/etc/ha.d/checks"
else
	put config 0644 root root "$etc/checks" /etc/ha.d/checks
fi

mkdir_ 0755 root root /etc/ha.d/rc.d
for f in "$etc"/rc.d/*; do
	[ -f "$f" ] || continue
	put stock 0755 root root "$f" "/etc/ha.d/rc.d/${f##*/}"
done

mkdir_ 0755 root root /etc/ha.d/resource.d
for f in "$etc"/resource.d/*; do
	[ -f "$f" ] || continue
	n=${f##*/}
	case $n in
	hto-mapfuncs) put stock 0644 root root "$f" "/etc/ha.d/resource.d/$n" ;;
	*) put stock 0755 root root "$f" "/etc/ha.d/resource.d/$n" ;;
	esac
done
if [ "$ipagent" = yes ]; then
	for n in IPaddr IPaddr2 IPsrcaddr SendArp; do
		link "$halib/hb-ipagent" "/etc/ha.d/resource.d/$n" stocklink
	done
	say "linked resource.d/{IPaddr,IPaddr2,IPsrcaddr,SendArp} -> $halib/hb-ipagent"
fi

# --- init script (written by the packaging issue; optional until then)
if [ -f "$repo/packaging/heartbeat.init" ]; then
	install -d "$destdir$initdir"
	sed "s%@HALIB@%$halib%g" "$repo/packaging/heartbeat.init" >"$destdir$initdir/heartbeat"
	! grep -q '@HALIB@' "$destdir$initdir/heartbeat" || die "@HALIB@ left in $initdir/heartbeat"
	note stock 0755 root root "$initdir/heartbeat"
	chmod 0755 "$destdir$initdir/heartbeat"
	say "installed $initdir/heartbeat"
else
	say "SKIP $initdir/heartbeat: packaging/heartbeat.init does not exist yet"
fi

# --- state directories
install -d "$destdir/var/lib"
mkdir_ 0755 root root /var/lib/heartbeat
mkdir_ 0755 root root /var/lib/heartbeat/cores
mkdir_ 0700 root root /var/lib/heartbeat/cores/root
mkdir_ 0700 nobody root /var/lib/heartbeat/cores/nobody
mkdir_ 0700 hacluster root /var/lib/heartbeat/cores/hacluster
install -d "$destdir/var/run"
mkdir_ 0755 root root /var/run/heartbeat
# dopd (running as hacluster) opens its socket here, as in 2.0.8's package; the daemon also
# makes it at start when /var/run was emptied at boot.
mkdir_ 0750 hacluster haclient /var/run/heartbeat/crm

# --- documentation: the guides, the sample configuration
install -d "$destdir/usr/share/doc"
doc=/usr/share/doc/heartbeat-$version
mkdir_ 0755 root root "$doc"
for f in README.md docs/INSTALL.md docs/CONFIG.md docs/SERVICE-CHECKS.md docs/COMPATIBILITY.md \
	docs/MIGRATING-TO-PACEMAKER.md; do
	[ -f "$repo/$f" ] || die "$f is missing from the source tree"
	put file 0644 root root "$repo/$f" "$doc/${f##*/}"
done
put file 0644 root root "$repo/packaging/README.md" "$doc/README.packaging.md"
# The samples, with this package's HALIB in the paths they name (ipfail).
for f in ha.cf haresources authkeys checks; do
	sed "s%/usr/lib/heartbeat/%$halib/%g" "$etc/$f" >"$destdir$doc/$f"
	note file 0644 root root "$doc/$f"
	chmod 0644 "$destdir$doc/$f"
done
put file 0644 root root "$repo/packaging/heartbeat.sysconfig" "$doc/heartbeat.sysconfig"

if [ -n "$manifest_tmp" ]; then
	mv "$manifest_tmp" "$manifest"
	say "wrote the file list to $manifest"
fi
say "done: $destdir (HALIB $halib, version $version)"
