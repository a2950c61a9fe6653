#pragma once
// `troupe run --check-determinism`: runs a simulated scenario twice (more if needed to name
// the event) and compares the traces. Same scenario and seed must give the same digest; when
// they do not, the first diverging event is named, with both runs' versions of it.

#include <filesystem>

#include "actors/runner.hpp"
#include "sim/trace.hpp"

namespace troupe::backends {

struct determinism_result {
  sim::divergence divergence;
  run_result first_run; ///< the first full run (its report is the run's report)
  int runs = 0;         ///< how many runs the check took (2 when deterministic)
};

/// Runs `s` with the sim backend into `req.out / "run-N"` directories.
determinism_result check_determinism(const scenario& s, const run_request& req,
                                     const registry& reg = registry::global());

/// One paragraph for the console.
std::string describe(const determinism_result& r);

} // namespace troupe::backends
