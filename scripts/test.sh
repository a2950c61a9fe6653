#!/usr/bin/env bash
# Installs what is missing (what running needs, and the test tools and node programs), builds
# everything (engine, CLI, tests, benchmarks) and runs the whole test suite. This is the
# README's second command and what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --all
# Every test carries its own CTest timeout (300 s at most); the suite as a whole is bounded
# too, so a hang can never hold CI.
timeout 1800 ctest --test-dir build --output-on-failure -j2 "$@"
# The README's first command builds `troupe` the quick way (TROUPE_QUICK: unity translation
# units at -O1/-O0), which the suite's build does not: build it once more that way, into
# build-quick/, and run the quick start's scenario with it, so that CI proves the first command
# still compiles and passes. TROUPE_SKIP_QUICK=1 skips it.
if [ "${TROUPE_SKIP_QUICK:-0}" != "1" ]; then
  quick_out="$(mktemp -d)"
  TROUPE_BUILD_DIR=build-quick timeout 1200 scripts/quickstart.sh --out "$quick_out" >/dev/null
  rm -rf "$quick_out"
fi
# The pinned kernel digests a second time with clang++ -O0 (scripts/digests_cross.sh, into
# build-clang/): a digest must not depend on the compiler or the optimisation level. Small
# (sim/ and actors/ only) and bounded; TROUPE_SKIP_CROSS_DIGESTS=1 skips it.
if [ "${TROUPE_SKIP_CROSS_DIGESTS:-0}" != "1" ]; then
  timeout 1800 scripts/digests_cross.sh
fi
# Then the unit tests under ASan/UBSan (scripts/sanitize.sh, into build-asan/), and every
# libFuzzer harness for 20 s from its corpus (scripts/fuzz.sh, into build-fuzz/), each bounded
# on its own so that CI stays within its 90 minutes. TROUPE_SKIP_SANITIZERS=1 skips the
# sanitizer run, TROUPE_SKIP_FUZZ=1 the fuzzers.
if [ "${TROUPE_SKIP_SANITIZERS:-0}" != "1" ]; then
  timeout 2400 scripts/sanitize.sh
fi
if [ "${TROUPE_SKIP_FUZZ:-0}" != "1" ]; then
  timeout 1800 scripts/fuzz.sh 20
fi
