#!/usr/bin/env bash
# Runs every libFuzzer harness of tests/fuzz/ for SECONDS each (default 60) and fails if any
# finds a crash, an uncaught exception, a sanitizer report or a failed check.
#
#   scripts/fuzz.sh [SECONDS]          CI runs `scripts/fuzz.sh 20` (scripts/test.sh)
#   TROUPE_FUZZ_TARGETS="http_parser scenario" scripts/fuzz.sh 300    only these targets
#
# Builds with clang into build-fuzz/ (-DTROUPE_FUZZ=ON: ASan, UBSan and coverage for all of
# troupe). Each target starts from its corpus (tests/fuzz/corpus/<target>/) and seeds
# (tests/fuzz/seeds.txt); what it learns goes to build-fuzz/corpus/<target>/, not into the
# source tree. An input that fails a target is copied into tests/fuzz/corpus/<target>/, where
# test_fuzz (the normal test build) runs it as a regression test: commit it with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "fuzz: SECONDS must be a whole number of seconds, e.g. scripts/fuzz.sh 60" >&2
  exit 2
fi
for tool in clang++ cmake; do
  if ! command -v "$tool" >/dev/null; then
    echo "fuzz: $tool is missing: run scripts/setup.sh (it installs clang)" >&2
    exit 2
  fi
done

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
fi
# -O1: fast enough to fuzz, and sanitizer reports keep their frames.
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DTROUPE_FUZZ=ON -DTROUPE_WERROR=OFF \
  "${launcher[@]}" >/dev/null
cmake --build build-fuzz -j2 --target fuzzers

targets=(${TROUPE_FUZZ_TARGETS:-})
if ((${#targets[@]} == 0)); then
  for f in tests/fuzz/fuzz_*.cpp; do
    name="$(basename "$f" .cpp)"
    [ "$name" = fuzz_support ] || targets+=("${name#fuzz_}")
  done
fi

export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=1:symbolize=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/sanitizers/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

failed=()
for t in "${targets[@]}"; do
  exe="build-fuzz/tests/fuzz_$t"
  if [ ! -x "$exe" ]; then
    echo "fuzz: no target '$t' (the harnesses are tests/fuzz/fuzz_*.cpp)" >&2
    exit 2
  fi
  work="build-fuzz/corpus/$t"
  crashes="build-fuzz/crashes/$t"
  mkdir -p "$work" "$crashes" "tests/fuzz/corpus/$t"
  seeds=("tests/fuzz/corpus/$t")
  while read -r name globs; do
    [ "$name" = "$t" ] || continue
    seed_dir="build-fuzz/seeds/$t"
    rm -rf "$seed_dir" && mkdir -p "$seed_dir"
    for g in $globs; do
      for f in $g; do [ -f "$f" ] && cp "$f" "$seed_dir/"; done
    done
    seeds+=("$seed_dir")
  done < <(grep -v '^#' tests/fuzz/seeds.txt)
  echo "fuzz: $t for ${seconds}s"
  # Inputs up to 64 KiB: enough for every structure the readers know (deep nesting
  # included), small enough to keep many runs a second. stdin is closed: a reader given
  # /dev/stdin as a path must not wait on the terminal.
  set +e
  "$exe" "$work" "${seeds[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -max_len=65536 -timeout=10 -print_final_stats=1 -artifact_prefix="$crashes/" \
    </dev/null >"build-fuzz/fuzz-$t.log" 2>&1
  rc=$?
  set -e
  tail -n 12 "build-fuzz/fuzz-$t.log" | grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done" || true
  found=$(find "$crashes" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) | wc -l)
  if [ "$rc" -ne 0 ] || [ "$found" -gt 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $rc); its log: build-fuzz/fuzz-$t.log" >&2
    grep -m 5 -E "ERROR: |SUMMARY: |fuzz check failed|terminate called|what\(\)" \
      "build-fuzz/fuzz-$t.log" >&2 || true
    for f in "$crashes"/*; do
      [ -f "$f" ] || continue
      cp "$f" "tests/fuzz/corpus/$t/"
      echo "fuzz: kept $(basename "$f") in tests/fuzz/corpus/$t/ (test_fuzz now runs it)" >&2
      rm -f "$f"
    done
  fi
done

if ((${#failed[@]})); then
  echo "fuzz: findings in ${failed[*]}: fix them, and commit the inputs kept in tests/fuzz/corpus/" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s), ${seconds}s each, no findings"
