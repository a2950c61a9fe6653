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
