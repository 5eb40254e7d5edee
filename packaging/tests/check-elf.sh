#!/bin/sh
# packaging/tests/check-elf.sh [--max-glibc 2.17] RPM|DIR: every ELF file shipped in the binary RPM
# (or found under DIR) must need no glibc symbol version newer than --max-glibc (default 2.17, EL7)
# and no shared library beyond glibc's own and libgcc_s. Prints one line per ELF file (its newest
# GLIBC_ version and its NEEDED libraries) and exits 1 on any violation, or when there is no ELF
# file at all. Needs objdump (binutils) and, for an RPM, rpm2archive and tar. No root needed.
set -eu
max=2.17
if [ "${1:-}" = --max-glibc ]; then
	max=$2
	shift 2
fi
[ $# = 1 ] || {
	echo "usage: $0 [--max-glibc X.Y] RPM|DIR" >&2
	exit 2
}
command -v objdump >/dev/null 2>&1 || {
	echo "$0: objdump not found (apt-get install binutils)" >&2
	exit 1
}
work=$(mktemp -d "${TMPDIR:-/tmp}/hb-elf.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ -f "$1" ]; then
	mkdir "$work/x"
	rpm2archive - <"$1" | tar -xzf - -C "$work/x"
	top=$work/x
else
	top=$1
fi
allowed=" libc.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libm.so.6 libutil.so.1 libgcc_s.so.1 ld-linux-x86-64.so.2 ld-linux-aarch64.so.1 ld-linux.so.2 "
# newer A B: true when version A > B (dotted numbers).
newer() {
	[ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -t. -k1,1n -k2,2n -k3,3n | tail -n 1)" = "$1" ]
}
n=0
bad=0
find "$top" -type f | sort >"$work/files"
while IFS= read -r f; do
	[ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
	n=$((n + 1))
	rel=${f#"$top"}
	vers=$(objdump -T "$f" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -u -t. -k1,1n -k2,2n -k3,3n)
	newest=$(printf '%s\n' "$vers" | tail -n 1)
	needed=$(objdump -p "$f" | awk '$1 == "NEEDED" { printf "%s%s", sep, $2; sep = " " }')
	verdict=ok
	for v in $vers; do
		if newer "$v" "$max"; then
			verdict="NEEDS GLIBC_$v > $max"
			bad=1
		fi
	done
	if objdump -T "$f" | grep -q 'GLIBC_PRIVATE'; then
		verdict="uses GLIBC_PRIVATE"
		bad=1
	fi
	for l in $needed; do
		case $allowed in
		*" $l "*) ;;
		*)
			verdict="needs $l (not part of glibc/libgcc)"
			bad=1
			;;
		esac
	done
	printf '%-40s newest GLIBC_%-5s needs %s: %s\n' "$rel" "${newest:-none}" "${needed:-nothing}" "$verdict"
done <"$work/files"
if [ "$n" = 0 ]; then
	echo "FAIL: no ELF file found in $1" >&2
	exit 1
fi
if [ "$bad" != 0 ]; then
	echo "FAIL: some shipped programs need more than glibc $max and libgcc" >&2
	exit 1
fi
echo "OK: $n ELF files, none needs a glibc symbol newer than $max or a library beyond glibc/libgcc"
