#!/bin/sh
# packaging/tests/build-standins.sh OUTDIR: build the test stand-ins into OUTDIR:
#   heartbeat-2.0.8-1.ARCH.rpm, heartbeat-pils-2.0.8-1.ARCH.rpm, heartbeat-stonith-2.0.8-1.ARCH.rpm
#     (STAND-INS for heartbeat 2.0.8: its layout, dependencies and scriptlets, Debian's original
#     heartbeat as payload; see heartbeat-2.0.8-standin.spec)
#   el7-minimal-standin-7-1.x86_64.rpm (what a minimal EL7 provides; see el7-base-standin.spec)
#   resource-agents-4.1.1-1.standin.x86_64.rpm (owns /etc/ha.d/shellfuncs as EL7's does; see
#     resource-agents-standin.spec)
# Needs rpmbuild, the original heartbeat and resource-agents installed (apt-get install heartbeat
# resource-agents). A few seconds.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# = 1 ] || {
	echo "usage: $0 OUTDIR" >&2
	exit 2
}
out=$1
[ -x /usr/libexec/heartbeat/heartbeat ] ||
	{
		echo "$0: the original heartbeat is not installed (apt-get install heartbeat)" >&2
		exit 1
	}
work=$(mktemp -d "${TMPDIR:-/tmp}/hb-standin.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
[ -f /etc/ha.d/shellfuncs ] && [ -f /usr/lib/ocf/lib/heartbeat/ocf-shellfuncs ] ||
	{
		echo "$0: resource-agents is not installed (apt-get install resource-agents)" >&2
		exit 1
	}
for spec in heartbeat-2.0.8-standin.spec el7-base-standin.spec resource-agents-standin.spec; do
	rpmbuild --define "_topdir $work/top" --define "_tmppath $work/tmp" --define "_rpmdir $work/rpms" \
		--define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
		-bb "$here/$spec" >"$work/log" 2>&1 || {
		cat "$work/log" >&2
		echo "$0: rpmbuild $spec failed" >&2
		exit 1
	}
done
cp "$work"/rpms/*.rpm "$out/"
ls "$out"
