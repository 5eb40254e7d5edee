#!/usr/bin/env bash
# The project's whole test suite (README's test command; .ci/run runs exactly this):
#   0. what the tests need (compat-tests/prereqs.sh test: as root it installs the missing packages
#      with apt-get, and zig for the RPM build with pip; otherwise it names them);
#   1. cargo test of the workspace: unit, property and simulation tests; as root also the tests
#      marked #[ignore] because they need root or the original heartbeat (labs in network
#      namespaces, differentials against the original, the long random takeover runs):
#      `--include-ignored`. Not root, those are counted as ignored, and a banner says so;
#   2. bounded fuzzing of every parser;
#   3. as root, the compatibility tests against the original heartbeat in network namespaces
#      (compat-tests/t-*.sh, some twice with the roles swapped); not root: a loud SKIP.
# Runs about 35 minutes on 2 cores as root.
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
elapsed() {
  local s=$(($(date +%s) - T0))
  printf '%d min %02d s' $((s / 60)) $((s % 60))
}
root=no
[ "$(id -u)" = 0 ] && root=yes

echo "== prerequisites"
bash compat-tests/prereqs.sh test

echo "== cargo test (workspace)"
# A failing cargo test does not stop the run: the compat tests still run, and the end says it failed.
cargo_rc=0
log=$(mktemp "${TMPDIR:-/tmp}/test-all-cargo.XXXXXX")
trap 'rm -f "$log"' EXIT
if [ "$root" = yes ]; then
  # Every test, the ignored ones included, except three that are not tests: helpers the tests run
  # as child processes (probe_dump, half_request_child) and a tool that replays one seeded run
  # (replay). ipfail_in_the_lab runs the two mixed pairings of ipfails (the original's beside
  # ours); t-ipfail.sh below runs ours on both nodes.
  PAIRS="ours/orig orig/ours" cargo test --workspace --release -- --include-ignored \
    --exact --skip probe_dump --skip half_request_child --skip replay 2>&1 | tee "$log" || cargo_rc=$?
else
  cargo test --workspace --release 2>&1 | tee "$log" || cargo_rc=$?
fi
counts=$(awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "%d %d %d", p, f, i }' "$log")
read -r passed failed ignored <<<"$counts"
cargo_note=
[ "$cargo_rc" = 0 ] || cargo_note="; cargo test FAILED (exit $cargo_rc)"
echo "cargo test: $passed passed, $failed failed, $ignored ignored ($(elapsed))$cargo_note"
if [ "$root" = no ] && [ "$ignored" -gt 0 ]; then
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!!! SKIP: $ignored tests need root or the original heartbeat and were not run here. !!!"
  echo "!!! Run this command as root to run them (cargo test -- --include-ignored).        !!!"
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
fi
# The programs the compat tests run (the daemon, the tools, the lab client's probe).
cargo build --release --workspace --bins --example vip_probe 2>&1

if [ -x compat-tests/fuzz.sh ]; then
  echo "== bounded fuzzing"
  compat-tests/fuzz.sh
  echo "fuzzing done ($(elapsed))"
fi

echo "== compatibility tests against the original heartbeat"
if [ "$root" = no ]; then
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!!! SKIP: compat tests need root (network namespaces); not run here. !!!"
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "cargo test: $passed passed, $failed failed, $ignored ignored$cargo_note"
  echo "test-all: done in $(elapsed), without the root-only tests"
  exit "$cargo_rc"
fi
pass=0
partial=0
fail=0
failed_runs=
skipped_parts=
out=$(mktemp "${TMPDIR:-/tmp}/test-all-run.XXXXXX")
trap 'rm -f "$log" "$out"' EXIT
# run [VAR=VALUE...] CMD...: one compat run. A run that passes but skipped some of its checks
# (lines starting with "SKIP" or "!!! SKIP") is listed at the end: a skip is not a pass.
run() {
  local t0=$SECONDS skips
  echo "--- $*"
  if env "$@" 2>&1 | tee "$out"; then
    echo "PASS $* ($((SECONDS - t0)) s)"
    pass=$((pass + 1))
    skips=$(grep -E '^(!!! )?SKIP' "$out" | sed 's/^!!! //' || true)
    [ -z "$skips" ] || {
      partial=$((partial + 1))
      skipped_parts="$skipped_parts
  $*: $(echo "$skips" | tr '\n' ';' | sed 's/;$//')"
    }
  else
    echo "FAIL $* ($((SECONDS - t0)) s)"
    fail=$((fail + 1))
    failed_runs="$failed_runs
  $*"
  fi
}
for t in compat-tests/t-*.sh; do
  [ -e "$t" ] || continue
  run bash "$t"
done
# The tests that take both implementations also run with the roles swapped.
for t in t-mixed-membership.sh t-takeover.sh; do
  [ -e "compat-tests/$t" ] && run IMPL_A=ours IMPL_B=orig bash "compat-tests/$t"
done
# And a cluster of ours alone.
[ -e compat-tests/t-takeover.sh ] && run IMPL_A=ours IMPL_B=ours bash compat-tests/t-takeover.sh
[ -e compat-tests/t-checks.sh ] && run IMPL_B=orig bash compat-tests/t-checks.sh
# Our ipfail, on either side of the original.
if [ -e compat-tests/t-ipfail.sh ]; then
  run IPFAIL="$PWD/target/release/ipfail" bash compat-tests/t-ipfail.sh
  run IMPL_A=orig IMPL_B=ours IPFAIL="$PWD/target/release/ipfail" bash compat-tests/t-ipfail.sh
fi
echo "cargo test: $passed passed, $failed failed, $ignored ignored$cargo_note"
echo "compat tests: $pass passed ($partial of them with a part skipped, listed below), $fail failed${failed_runs:+; failed:$failed_runs}"
[ -z "$skipped_parts" ] || echo "compat tests that passed but skipped a part:$skipped_parts"
echo "test-all: done in $(elapsed)"
[ "$fail" = 0 ] && [ "$cargo_rc" = 0 ]
