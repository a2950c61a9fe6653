#!/usr/bin/env bash
# Builds the unit tests once with clang's AddressSanitizer and UndefinedBehaviorSanitizer
# (-O1, frame pointers kept) into build-asan/ and runs the ones that need no program from
# outside troupe. Any report fails the run (halt_on_error). CI runs this after the normal
# suite (scripts/test.sh).
#
#   scripts/sanitize.sh                 build and run
#   scripts/sanitize.sh -R JobsHttp     extra arguments go to ctest
#
# Which tests run here, and why the others do not:
#   test_actors test_sim test_jobs test_expectations test_fuzz test_scenarios
#     the engine, the kernel, the job engine and its HTTP server (its children are our own
#     sanitized `troupe` binary), expectations, the fuzz corpus, and the simulated scenarios;
#   not test_backends (litecoind, etcd), test_report (headless Chromium) and test_apps (the
#     CLI against live backends): they drive programs that are not ours, so a report there
#     would say little about troupe, and they are the slowest tests under a sanitizer.
#
# Suppressions (tests/sanitizers/*.supp) name reports inside CAF's own code only; nothing of
# troupe's is suppressed.
set -euo pipefail
cd "$(dirname "$0")/.."
tests=(test_actors test_sim test_jobs test_expectations test_fuzz test_scenarios)

if ! command -v clang++ >/dev/null; then
  echo "sanitize: clang++ is missing: run scripts/setup.sh (it installs clang)" >&2
  exit 2
fi
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
fi
flags="-fsanitize=address,undefined -fno-omit-frame-pointer"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DTROUPE_WERROR=OFF \
  "${launcher[@]}" >/dev/null
cmake --build build-asan -j2 --target "${tests[@]}"

supp="$PWD/tests/sanitizers"
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_init_order=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$supp/ubsan.supp${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# Each test carries its area as a CTest label (tests/CMakeLists.txt).
labels="^($(IFS='|'; echo "${tests[*]#test_}"))\$"
# jobs_live.* are left out: their campaigns run real shell commands against wall time (a
# scenario duration), which the sanitizers' slowdown can outlast; the normal suite runs them.
# JobsSharedKill.* too: 10,000 jobs through three orchestrators killed ten times take tens of
# seconds normally and would outlast their bound under ASan (JobsSharedStore.* covers the
# same code in small).
timeout 1800 ctest --test-dir build-asan --output-on-failure -j2 -L "$labels" \
  -E '^(jobs_live|JobsSharedKill)\.' "$@"
