#pragma once
// `troupe run --check-determinism`: runs a simulated scenario twice (more if needed to name
// the event) and compares the traces. Same scenario and seed must give the same digest; when
// they do not, the first diverging event is named, with both runs' versions of it.
//
// From the CLI each run is a process of its own (`troupe run FILE ... --trace-record
// FROM,COUNT,EVERY --trace-out FILE`, which writes the run's trace as JSON), so whatever a
// process carries (address-space layout, hash seeds, static state, the allocator) cannot
// make two runs agree by accident. In-process (no binary given) the runs share one process:
// that is what tests with models registered in the test itself use.

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/runner.hpp"
#include "sim/trace.hpp"

namespace troupe::backends {

struct determinism_result {
  sim::divergence divergence;
  run_result first_run;   ///< the first full run (its report is the run's report)
  int runs = 0;           ///< how many runs the check took (2 when deterministic)
  bool processes = false; ///< whether each run was a process of its own
};

/// How to run each run in a process of its own.
struct determinism_processes {
  std::filesystem::path troupe_binary;
  /// `troupe run` arguments that make the same run: FILE, then --seed, --duration, --vary...
  std::vector<std::string> run_args;
};

/// Runs `s` with the sim backend into `req.out / "run-N"` directories; in child processes
/// when `procs` is given.
determinism_result check_determinism(const scenario& s, const run_request& req,
                                     const registry& reg = registry::global(),
                                     const determinism_processes* procs = nullptr);

/// One sim run recording `tr`; its trace goes to `trace_path` as JSON (the child's side of
/// a two-process check).
run_result run_recording_trace(const scenario& s, run_request req, const registry& reg,
                               const sim::trace_request& tr,
                               const std::filesystem::path& trace_path);

/// A trace as JSON and back (lossless: the digest, checkpoints and recorded window).
nlohmann::json trace_to_json(const sim::world_trace& t);
sim::world_trace trace_from_json(const nlohmann::json& j);

/// "FROM,COUNT,EVERY" -> a trace request; throws user_error naming the option otherwise.
sim::trace_request parse_trace_record(const std::string& text);

/// One paragraph for the console.
std::string describe(const determinism_result& r);

} // namespace troupe::backends
