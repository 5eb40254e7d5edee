#!/usr/bin/env bash
# The project's whole test suite: unit, property and simulation tests (cargo test),
# bounded fuzzing of every parser, then the compatibility tests against the original
# heartbeat in network namespaces (root only; otherwise a loud SKIP).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test (workspace) =="
cargo test --workspace --release 2>&1
cargo build --release -p heartbeat 2>&1

if [ -x compat-tests/fuzz.sh ]; then
  echo "== bounded fuzzing =="
  compat-tests/fuzz.sh
fi

echo "== compatibility tests against the original heartbeat =="
if [ "$(id -u)" != 0 ]; then
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!!! SKIP: compat tests need root (network namespaces); not run here. !!!"
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  exit 0
fi
fail=0
for t in compat-tests/t-*.sh; do
  [ -e "$t" ] || continue
  echo "--- $t"
  if bash "$t"; then echo "PASS $t"; else echo "FAIL $t"; fail=1; fi
done
exit $fail
