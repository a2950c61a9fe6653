#pragma once
// `troupe shrink RUN_DIR`: the smallest fault schedule that still fails the same way.
//
// The failing run's realised schedule becomes explicit `steps`: the steps its `steps`
// workloads wrote, plus what its `chaos` workloads did (report.json's fault windows: each
// restart a kill and a start, each partition its sides and its heal). Then, each candidate an
// ordinary simulated run (in this process, bounded by `runs_max`), it searches for a smaller
// schedule that still fails the run's first failing expectation the same way (a summary of
// the same shape, summary_shape):
//
//   1. delta debugging (Zeller's ddmin) over the faults (a fault and its heal go together);
//   2. shorter faults: each fault's heal brought forward by halves;
//   3. fewer nodes: nodes dropped from each fault's list and each partition side, by halves;
//   4. a shorter run: the duration cut by bisection, down to just after the last step.
//
// The result is an ordinary scenario (`shrunk.json`) a person can read and run anywhere,
// live backends included (`troupe validate shrunk.json --backend local`).

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/registry.hpp"

namespace troupe::backends {

struct shrink_options {
  std::filesystem::path run_dir;  ///< a failing run's directory (report.json, scenario.json)
  std::filesystem::path work_dir; ///< where candidate runs go (one directory, reused)
  size_t runs_max = 200;          ///< candidate runs at most; the best so far is kept
  /// A candidate fails "the same way" when the expectation fails with a summary of the same
  /// shape (summary_shape); false: any failure of that expectation counts.
  bool same_summary = true;
  std::function<void(const std::string&)> on_progress; ///< one line per phase
};

struct shrink_result {
  nlohmann::json shrunk;   ///< the shrunk scenario (scenario JSON)
  std::string expectation; ///< the expectation that fails, before and after
  std::string summary;     ///< its summary in the last failing candidate
  size_t faults_before = 0, steps_before = 0;
  size_t faults_after = 0, steps_after = 0;
  size_t runs = 0;             ///< candidate runs made
  bool runs_exhausted = false; ///< stopped at runs_max before every phase finished
};

/// Shrinks the run in `o.run_dir`; throws user_error when it is not a failing simulated run
/// or when its realised schedule, made explicit, no longer fails.
shrink_result shrink_run(const shrink_options& o, const registry& reg = registry::global());

/// A summary with its numbers, hashes and node indices as '#': two runs that fail the same
/// way ("2 tips at end: 3fa2... (height 7, ...)") have summaries of one shape, while one
/// whose failure changed kind ("1 tips at end") does not.
std::string summary_shape(const std::string& summary);

/// "23 faults (46 steps) -> 2 faults (3 steps)".
std::string describe(const shrink_result& r);

} // namespace troupe::backends
