#!/usr/bin/env bash
# The README's first command: install what running needs (the toolchain and the libraries,
# no test tools), build the `troupe` target only, and run the default scenario
# (scenarios/chain-sim.json: 30 simulated nodes for 10 minutes of virtual time).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --run
exec "${TROUPE_BUILD_DIR:-build}/troupe" run scenarios/chain-sim.json "$@"
