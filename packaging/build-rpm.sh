#!/bin/sh
# packaging/build-rpm.sh [options]: build the source RPM and the binary RPM of heartbeat into
# target/rpm/ (heartbeat-VERSION-RELEASE.src.rpm, heartbeat-VERSION-RELEASE.ARCH.rpm).
#
# The source RPM carries the sources with every crate vendored (cargo vendor; crates that no Linux
# target builds, such as windows-sys, are reduced to their manifests), so that
#     rpmbuild --rebuild heartbeat-VERSION-RELEASE.src.rpm
# compiles offline on any machine with a Rust toolchain (spec: %build runs cargo --frozen).
# The binary RPM packages binaries built here with cargo zigbuild against glibc 2.17 (EL7), so they
# run on EL7 and later whatever glibc this host has (pip install ziglang cargo-zigbuild).
#
# Options:
#   --target TRIPLE   Rust target of the binaries (default x86_64-unknown-linux-gnu.2.17, built with
#                     cargo zigbuild). A *-linux-musl triple builds static binaries with plain cargo
#                     (rustup target add x86_64-unknown-linux-musl) for hosts older than glibc 2.17.
#   --host-glibc      build with plain cargo for this host (the binaries need this host's glibc)
#   --bindir DIR      package the binaries in DIR instead of building them
#   --release N       RPM release (default 1)
#   --dist TAG        RPM dist tag appended to the release, e.g. .el7 (default none)
#   --out DIR         where the RPMs go (default <repo>/target/rpm)
#   --srpm-only       only the source RPM
# Environment: CARGO_TARGET_DIR (default <repo>/target), SOURCE_DATE_EPOCH (default: the time of
# the last commit; sets the tarball's timestamps and the changelog date).
# Needs: rpmbuild (Debian: apt-get install rpm), cargo, git, tar, gzip.
set -eu

me=build-rpm.sh
repo=$(cd "$(dirname "$0")/.." && pwd)

die() {
	echo "$me: error: $*" >&2
	exit 1
}
say() {
	echo "$me: $*"
}
usage() {
	echo "usage: $me [--target TRIPLE | --host-glibc | --bindir DIR] [--release N] [--dist TAG] [--out DIR] [--srpm-only]" >&2
	exit 2
}

target=x86_64-unknown-linux-gnu.2.17
mode=zig
bindir=
release=1
dist=
out=$repo/target/rpm
srpm_only=no
while [ $# -gt 0 ]; do
	case $1 in
	--target | --bindir | --release | --dist | --out)
		[ $# -ge 2 ] || usage
		case $1 in
		--target) target=$2 ;;
		--bindir) bindir=$2 mode=bindir ;;
		--release) release=$2 ;;
		--dist) dist=$2 ;;
		--out) out=$2 ;;
		esac
		shift 2
		;;
	--host-glibc)
		mode=host
		shift
		;;
	--srpm-only)
		srpm_only=yes
		shift
		;;
	*) usage ;;
	esac
done
case $target in
*-linux-musl) [ "$mode" = bindir ] || mode=musl ;;
*-linux-gnu.*) ;;
*) [ "$mode" != zig ] || die "--target $target: give a glibc floor (e.g. x86_64-unknown-linux-gnu.2.17) or a musl triple" ;;
esac
case $release in '' | *[!0-9A-Za-z._]*) die "bad --release '$release'" ;; esac

command -v rpmbuild >/dev/null 2>&1 || die "rpmbuild not found (Debian: apt-get install rpm)"
for t in cargo git tar gzip; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found"
done

version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' "$repo/Cargo.toml")
[ -n "$version" ] || die "no version in $repo/Cargo.toml"
target_dir=${CARGO_TARGET_DIR:-$repo/target}
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
case $(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null | head -n 1) in
'') ;;
*) say "note: the working tree has uncommitted changes; they are packaged as they are" ;;
esac

# --- 1. the binaries
bins="heartbeat hb_standby hb_takeover ResourceManager mach_down req_resource hb_addnode hb_delnode ha_logger hb-ipagent cl_status ipfail dopd drbd-peer-outdater"
rpm_arch=
if [ "$srpm_only" = no ]; then
	case $mode in
	zig)
		cargo zigbuild --help >/dev/null 2>&1 ||
			die "cargo zigbuild not found: pip install ziglang cargo-zigbuild (or --host-glibc / --bindir DIR)"
		say "building with cargo zigbuild --target $target"
		(cd "$repo" && cargo zigbuild --release --workspace --bins --locked --target "$target")
		bindir=$target_dir/${target%%.*}/release
		;;
	musl)
		say "building with cargo --target $target (static)"
		(cd "$repo" && cargo build --release --workspace --bins --locked --target "$target")
		bindir=$target_dir/$target/release
		;;
	host)
		say "building with cargo for this host: the binaries need this host's glibc ($(ldd --version 2>/dev/null | head -n 1))"
		(cd "$repo" && cargo build --release --workspace --bins --locked)
		bindir=$target_dir/release
		target=$(rustc -vV | sed -n 's/^host: //p')
		;;
	bindir)
		bindir=$(cd "$bindir" && pwd)
		;;
	esac
	for b in $bins; do
		[ -x "$bindir/$b" ] || die "$bindir/$b is missing"
	done
	# The RPM architecture of the ELF files.
	case $(od -An -tx1 -j18 -N2 "$bindir/heartbeat" | tr -d ' \n') in
	3e00) rpm_arch=x86_64 ;;
	b700) rpm_arch=aarch64 ;;
	0300) rpm_arch=i686 ;;
	*) die "$bindir/heartbeat: unknown machine type" ;;
	esac
fi

# --- 2. the source tarball: the working tree's files (tracked and new, not ignored) + vendor/
work=$(mktemp -d "${TMPDIR:-/tmp}/hb-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT
name=heartbeat-$version
src=$work/$name
mkdir -p "$src" "$work/top/SOURCES" "$work/top/SPECS" "$work/top/SRPMS" "$work/top/RPMS" "$work/top/BUILD"
(cd "$repo" && git ls-files -z -c -o --exclude-standard) |
	(cd "$repo" && tar --null --no-recursion -T - -cf -) | tar -xf - -C "$src"
for f in Cargo.toml Cargo.lock packaging/install.sh etc-ha.d/shellfuncs; do
	[ -f "$src/$f" ] || die "$f is not in the source tree"
done

say "vendoring the crates"
if ! cargo vendor --manifest-path "$src/Cargo.toml" --locked --versioned-dirs --offline \
	"$src/vendor" >"$work/vendor.log" 2>&1; then
	say "not every crate is in the local cache: vendoring from the network"
	cargo vendor --manifest-path "$src/Cargo.toml" --locked --versioned-dirs \
		"$src/vendor" >"$work/vendor.log" 2>&1 || {
		cat "$work/vendor.log" >&2
		die "cargo vendor failed"
	}
fi
# The crates some Linux target compiles (any feature set the workspace selects, dev and build
# dependencies included); the others keep their manifest only (cargo reads it to resolve the lock
# file, never compiles them), with a checksum file listing no files.
needed=$work/needed
for t in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu i686-unknown-linux-gnu \
	x86_64-unknown-linux-musl; do
	(cd "$repo" && cargo tree --locked --offline --workspace --target "$t" -e normal,build,dev \
		--prefix none --format '{p}') 2>/dev/null
done | awk '{ v = $2; sub(/^v/, "", v); print $1 "-" v }' | sort -u >"$needed"
[ -s "$needed" ] || die "cargo tree listed no crates"
stubbed=0
for d in "$src"/vendor/*/; do
	d=${d%/}
	crate=${d##*/}
	grep -qx -- "$crate" "$needed" && continue
	sum=$(sed -n 's/.*"package": *"\([0-9a-f]*\)".*/\1/p' "$d/.cargo-checksum.json")
	[ -n "$sum" ] || die "no package checksum in $d/.cargo-checksum.json"
	find "$d" -mindepth 1 -maxdepth 1 ! -name Cargo.toml -exec rm -rf {} +
	mkdir "$d/src"
	: >"$d/src/lib.rs"
	printf '{"files":{},"package":"%s"}\n' "$sum" >"$d/.cargo-checksum.json"
	stubbed=$((stubbed + 1))
done
mkdir -p "$src/.cargo"
cat >"$src/.cargo/config.toml" <<'EOF'
# Written by packaging/build-rpm.sh: the crates come from vendor/ (offline builds).
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "vendor"
EOF
# The vendored tree must resolve offline, without any cache.
(cd "$src" && CARGO_HOME=$work/cargo-home cargo metadata --frozen --format-version 1 >/dev/null) ||
	die "the vendored sources do not resolve offline"
rm -rf "$work/cargo-home"
say "vendored $(find "$src/vendor" -mindepth 1 -maxdepth 1 -type d | wc -l) crates ($stubbed reduced to their manifests: not built on Linux), $(du -sh "$src/vendor" | cut -f1)"

# The Rust version the vendored crates and the workspace need.
rust_min=$(cat "$src/Cargo.toml" "$src"/vendor/*/Cargo.toml |
	sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' |
	awk -F. '{ printf "%d.%d.%d\n", $1, $2, $3 }' | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1)
[ -n "$rust_min" ] || rust_min=1.75.0

tarball=$work/top/SOURCES/$name.tar.gz
(cd "$work" && tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
	-cf - "$name") | gzip -n -9 >"$tarball"

# --- 3. the spec
changelog_date=$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" '+%a %b %d %Y')
sed -e "s/@VERSION@/$version/g" -e "s/@RELEASE@/$release/g" -e "s/@RUST_MIN@/$rust_min/g" \
	-e "s/@CHANGELOG_DATE@/$changelog_date/g" "$repo/packaging/heartbeat.spec.in" >"$work/top/SPECS/heartbeat.spec"
if grep -n '@[A-Z_]*@' "$work/top/SPECS/heartbeat.spec" | grep -v '@HALIB@' >&2; then
	die "placeholders left in the spec"
fi
# The spec inside the tarball too, for rpmbuild -ta.
cp "$work/top/SPECS/heartbeat.spec" "$src/heartbeat.spec"

# The dist tag for rpmbuild (none: %{nil}). Not "${dist:-%{nil}}": that expansion ends at the first
# brace and leaves a "}" behind a given tag.
if [ -n "$dist" ]; then distdef=$dist; else distdef='%{nil}'; fi
# rb ARGS: rpmbuild inside the work directory.
rb() {
	rpmbuild --define "_topdir $work/top" --define "_tmppath $work/tmp" \
		--define "_sourcedir $work/top/SOURCES" --define "_specdir $work/top/SPECS" \
		--define "_srcrpmdir $work/top/SRPMS" --define "_rpmdir $work/top/RPMS" \
		--define "_builddir $work/top/BUILD" --define "dist $distdef" "$@"
}
mkdir -p "$work/tmp"

# --- 4. the RPMs
say "rpmbuild -bs"
rb -bs "$work/top/SPECS/heartbeat.spec" >"$work/rpmbuild-bs.log" 2>&1 || {
	cat "$work/rpmbuild-bs.log" >&2
	die "rpmbuild -bs failed"
}
if [ "$srpm_only" = no ]; then
	say "rpmbuild -bb --target $rpm_arch (binaries from $bindir)"
	rb -bb --target "$rpm_arch" --define "prebuilt_bindir $bindir" "$work/top/SPECS/heartbeat.spec" \
		>"$work/rpmbuild-bb.log" 2>&1 || {
		cat "$work/rpmbuild-bb.log" >&2
		die "rpmbuild -bb failed"
	}
fi

# The glibc floor the zig build promises, checked on the package itself.
if [ "$srpm_only" = no ] && [ "$mode" = zig ] && command -v objdump >/dev/null 2>&1; then
	floor=${target#*-linux-gnu.}
	sh "$repo/packaging/tests/check-elf.sh" --max-glibc "$floor" "$work"/top/RPMS/*/heartbeat-*.rpm >"$work/elf.log" 2>&1 || {
		cat "$work/elf.log" >&2
		die "the packaged programs need more than glibc $floor"
	}
	say "$(tail -n 1 "$work/elf.log")"
fi

mkdir -p "$out"
if [ "$srpm_only" = yes ]; then
	rm -f "$out"/heartbeat-[0-9]*.src.rpm
else
	rm -f "$out"/heartbeat-[0-9]*.rpm
fi
find "$work/top/SRPMS" "$work/top/RPMS" -name '*.rpm' -exec cp {} "$out/" \;
if [ "$mode" = bindir ]; then built_from="binaries from $bindir"; else built_from="binaries for $target"; fi
say "built ($built_from, Rust >= $rust_min to rebuild):"
for f in "$out"/heartbeat-[0-9]*.rpm; do
	[ -f "$f" ] || continue
	echo "  $f  $(du -k "$f" | cut -f1) KiB  sha256 $(sha256sum "$f" | cut -c1-16)..."
done
