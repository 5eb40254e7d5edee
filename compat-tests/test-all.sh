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
# The compat runs mostly wait on protocol timers (dead times, initdead), so they run
# TEST_JOBS at a time (default 2; TEST_JOBS=1 runs them one by one). Each lab lives in its
# own namespaces with a unique prefix, and each run's output is printed whole, in order.
jobs_max=${TEST_JOBS:-2}
results=$(mktemp -d "${TMPDIR:-/tmp}/test-all-runs.XXXXXX")
trap 'rm -rf "$log" "$results"' EXIT
runs=()
# add [VAR=VALUE...] CMD...: one compat run (arguments without blanks).
add() { runs+=("$*"); }
# The RPM test builds twice (the zig build and the offline rebuild of the source RPM): it
# starts first, beside the labs that mostly sleep.
[ -e compat-tests/t-rpm.sh ] && add bash compat-tests/t-rpm.sh
for t in compat-tests/t-*.sh; do
  [ -e "$t" ] && [ "$t" != compat-tests/t-rpm.sh ] && add bash "$t"
done
# The tests that take both implementations also run with the roles swapped.
for t in t-mixed-membership.sh t-takeover.sh; do
  [ -e "compat-tests/$t" ] && add IMPL_A=ours IMPL_B=orig bash "compat-tests/$t"
done
# And a cluster of ours alone.
[ -e compat-tests/t-takeover.sh ] && add IMPL_A=ours IMPL_B=ours bash compat-tests/t-takeover.sh
[ -e compat-tests/t-checks.sh ] && add IMPL_B=orig bash compat-tests/t-checks.sh
# Our ipfail, on either side of the original.
if [ -e compat-tests/t-ipfail.sh ]; then
  add IPFAIL="$PWD/target/release/ipfail" bash compat-tests/t-ipfail.sh
  add IMPL_A=orig IMPL_B=ours IPFAIL="$PWD/target/release/ipfail" bash compat-tests/t-ipfail.sh
fi
# run_one I: runs runs[I] into $results/I.{out,rc,secs}.
run_one() {
  local i=$1 t0=$SECONDS rc=0 args
  read -ra args <<<"${runs[$i]}"
  env "${args[@]}" >"$results/$i.out" 2>&1 </dev/null || rc=$?
  echo $((SECONDS - t0)) >"$results/$i.secs"
  echo "$rc" >"$results/$i.rc"
}
# report I: prints run I's output and verdict. A run that passes but skipped some of its
# checks (lines starting with "SKIP" or "!!! SKIP") is listed at the end: a skip is not a pass.
report() {
  local i=$1 spec=${runs[$1]} skips
  echo "--- $spec"
  cat "$results/$i.out"
  if [ "$(cat "$results/$i.rc")" = 0 ]; then
    echo "PASS $spec ($(cat "$results/$i.secs") s)"
    pass=$((pass + 1))
    skips=$(grep -E '^(!!! )?SKIP' "$results/$i.out" | sed 's/^!!! //' || true)
    [ -z "$skips" ] || {
      partial=$((partial + 1))
      skipped_parts="$skipped_parts
  $spec: $(echo "$skips" | tr '\n' ';' | sed 's/;$//')"
    }
  else
    echo "FAIL $spec (exit $(cat "$results/$i.rc"), $(cat "$results/$i.secs") s)"
    fail=$((fail + 1))
    failed_runs="$failed_runs
  $spec"
  fi
}
echo "${#runs[@]} runs, $jobs_max at a time"
next=0
flush() {
  while [ "$next" -lt "${#runs[@]}" ] && [ -e "$results/$next.rc" ]; do
    report "$next"
    next=$((next + 1))
  done
}
for i in "${!runs[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
    wait -n || true
    flush
  done
  run_one "$i" &
done
wait || true
flush
echo "cargo test: $passed passed, $failed failed, $ignored ignored$cargo_note"
echo "compat tests: $pass passed ($partial of them with a part skipped, listed below), $fail failed${failed_runs:+; failed:$failed_runs}"
[ -z "$skipped_parts" ] || echo "compat tests that passed but skipped a part:$skipped_parts"
echo "test-all: done in $(elapsed)"
[ "$fail" = 0 ] && [ "$cargo_rc" = 0 ]
