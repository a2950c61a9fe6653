#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the default scenario
# (scenarios/chain-sim.json: 30 simulated nodes for 10 minutes of virtual time).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec build/troupe run scenarios/chain-sim.json "$@"
