#!/usr/bin/env bash
# Bounded fuzzing of every parser: each cargo-fuzz target runs for FUZZ_SECONDS seconds
# (default 30). Exits non-zero if any target crashes (the crashing input is kept under
# fuzz/artifacts/TARGET/). Targets whose source file does not exist yet are skipped with a
# loud SKIP line.
#
# cargo fuzz needs nightly-only compiler flags (-Z sanitizer=address, ...). This machine
# has only the stable toolchain, so the script sets RUSTC_BOOTSTRAP=1, which makes stable
# rustc accept them. Should cargo fuzz still fail to build, the targets are built as plain
# release binaries (libFuzzer without coverage instrumentation) and run once over their
# seed corpus instead, and the script says so.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${FUZZ_SECONDS:-30}
TARGETS=(decode_packet parse_hacf parse_haresources parse_authkeys api_frames api_server parse_fifo parse_checks)
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$ROOT/fuzz/target}

loud() {
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  echo "!!! $*"
  echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
}

present=()
for t in "${TARGETS[@]}"; do
  if [ -f "fuzz/fuzz_targets/$t.rs" ]; then
    present+=("$t")
  else
    loud "SKIP fuzz target $t: fuzz/fuzz_targets/$t.rs does not exist"
  fi
done
[ ${#present[@]} -gt 0 ] || { loud "SKIP: no fuzz target exists"; exit 0; }

WORK=$(mktemp -d /tmp/hb-fuzz.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# fuzz/Cargo.toml names every target; cargo refuses it while one file is missing. In that
# case build from a copy of the manifest that names only the targets present.
FUZZ_DIR=$ROOT/fuzz
if [ ${#present[@]} -ne ${#TARGETS[@]} ]; then
  FUZZ_DIR=$WORK/fuzz
  mkdir -p "$FUZZ_DIR"
  ln -s "$ROOT/fuzz/fuzz_targets" "$FUZZ_DIR/fuzz_targets"
  [ -f "$ROOT/fuzz/Cargo.lock" ] && cp "$ROOT/fuzz/Cargo.lock" "$FUZZ_DIR/"
  awk -v keep=" ${present[*]} " -v root="$ROOT" 'BEGIN { RS = ""; ORS = "\n\n" }
    /^\[\[bin\]\]/ { match($0, /name = "[^"]*"/); n = substr($0, RSTART + 8, RLENGTH - 9)
                     if (index(keep, " " n " ") == 0) next }
    { gsub(/path = "\.\.\//, "path = \"" root "/"); print }' \
    "$ROOT/fuzz/Cargo.toml" > "$FUZZ_DIR/Cargo.toml"
fi

# Seed corpus: committed seeds (fuzz/seeds/TARGET/), copied so the run may add to them.
for t in "${present[@]}"; do
  mkdir -p "$WORK/corpus/$t"
  if [ -d "fuzz/seeds/$t" ]; then cp -r "fuzz/seeds/$t/." "$WORK/corpus/$t/"; fi
done

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz =="
  cargo install cargo-fuzz --locked
fi

mode=fuzz
echo "== building fuzz targets (cargo fuzz, RUSTC_BOOTSTRAP=1): ${present[*]} =="
for t in "${present[@]}"; do
  if ! cargo fuzz build --fuzz-dir "$FUZZ_DIR" -O -a "$t"; then
    mode=fallback
    break
  fi
done

fail=0
if [ "$mode" = fuzz ]; then
  for t in "${present[@]}"; do
    echo "== fuzzing $t for ${SECS}s =="
    mkdir -p "$ROOT/fuzz/artifacts/$t"
    if cargo fuzz run --fuzz-dir "$FUZZ_DIR" -O -a "$t" "$WORK/corpus/$t" -- \
        -max_total_time="$SECS" -artifact_prefix="$ROOT/fuzz/artifacts/$t/" -print_final_stats=1; then
      echo "PASS fuzz $t"
    else
      echo "FAIL fuzz $t: crashing input in fuzz/artifacts/$t/"
      fail=1
    fi
  done
else
  loud "cargo fuzz could not build here; FALLBACK: plain release builds run over the seed corpus only (no coverage-guided fuzzing)"
  for t in "${present[@]}"; do
    cargo build --manifest-path "$FUZZ_DIR/Cargo.toml" --release --bin "$t"
    if "$CARGO_TARGET_DIR/release/$t" -runs=0 "$WORK/corpus/$t"; then
      echo "PASS seeds $t"
    else
      echo "FAIL seeds $t"
      fail=1
    fi
  done
fi
exit $fail
