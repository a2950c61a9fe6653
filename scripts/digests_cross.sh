#!/usr/bin/env bash
# The pinned trace digests (tests/scenarios/examples_test.cpp: every simulated example in
# scenarios/, each with its digest) under a second compiler and optimisation level: a digest
# is a pure function of (scenario, seed), so it must not depend on gcc vs clang or -O3 vs -O0.
# The main build is g++ -O3 (Release); CI runs this after the suite with clang++ -O0 into its
# own build directory (ccache keeps a rebuild short). By default only tests/digests (sim/ and
# actors/, no troupe binary: ~40 files) is built and run: the kernel and chain-model digests
# pinned there, four runs, one seed each. `--examples` builds the whole engine and runs
# tests/scenarios' pinned example digests (every simulated example, its own seed): longer.
#
#   scripts/digests_cross.sh                          clang++ -O0 into build-clang/
#   scripts/digests_cross.sh --examples               the examples' digests too
#   scripts/digests_cross.sh g++ -O2 build-gcc-o2     any compiler, flags and directory
set -euo pipefail
cd "$(dirname "$0")/.."
examples=0
if [ "${1:-}" = "--examples" ]; then examples=1; shift; fi
cxx=${1:-clang++}
opt=${2:--O0}
dir=${3:-build-clang}
if ! command -v "$cxx" >/dev/null; then
  echo "digests: $cxx is missing: run scripts/setup.sh (it installs clang)" >&2
  exit 2
fi
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
fi
start=$(date +%s)
# Warnings differ between compilers; this build checks digests, the main one warnings.
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_CXX_FLAGS="$opt" -DTROUPE_WERROR=OFF -DTROUPE_REQUIRE_TESTS=ON "${launcher[@]}" >/dev/null
if [ "$examples" = 1 ]; then
  nice -n 10 cmake --build "$dir" -j2 --target test_scenarios
  built=$(date +%s)
  timeout 900 "$dir/tests/test_scenarios" \
    --gtest_filter='examples.every_simulated_example_gives_its_pinned_verdict_and_digest'
else
  nice -n 10 cmake --build "$dir" -j2 --target test_digests
  built=$(date +%s)
  timeout 300 "$dir/tests/test_digests"
fi
echo "digests: $cxx $opt: build $((built - start)) s, pinned-digest test $(($(date +%s) - built)) s"
