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
# The pinned kernel digests a second time with clang++ -O0 (scripts/digests_cross.sh, into
# build-clang/): a digest must not depend on the compiler or the optimisation level. Small
# (sim/ and actors/ only) and bounded; TROUPE_SKIP_CROSS_DIGESTS=1 skips it.
if [ "${TROUPE_SKIP_CROSS_DIGESTS:-0}" != "1" ]; then
  timeout 900 scripts/digests_cross.sh
fi
# Then the unit tests under ASan/UBSan (scripts/sanitize.sh, into build-asan/), bounded on its
# own so that CI stays within its 90 minutes. The fuzzers (scripts/fuzz.sh) run by hand for
# now: README, "Hardening". TROUPE_SKIP_SANITIZERS=1 skips the sanitizer run.
if [ "${TROUPE_SKIP_SANITIZERS:-0}" != "1" ]; then
  timeout 2400 scripts/sanitize.sh
fi
