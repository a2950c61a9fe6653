#pragma once
// `troupe swarm`: many seeds of one scenario, one child process per seed (an ordinary
// `troupe run` of the given binary, each into its own run directory under the swarm's), at
// most `jobs` at a time, each bounded by `seed_timeout`. The children run in process groups of
// their own: Ctrl-C reaches the swarm alone, which stops them by PID (SIGTERM, so they tear
// down and write their reports; SIGKILL after a grace) and still summarises what finished.
//
//   <out>/seed-<N>/          the seed's run directory (report.json, report.html, ...)
//   <out>/logs/seed-<N>.log  the child's console
//   <out>/swarm.json         backends/sim/swarm_summary.hpp

#include <chrono>
#include <filesystem>
#include <functional>

#include <nlohmann/json.hpp>

#include "backends/sim/swarm_summary.hpp"

namespace troupe::backends {

struct swarm_options {
  swarm_plan plan;
  std::filesystem::path troupe_binary;    ///< the `troupe` to run (the CLI passes itself)
  std::filesystem::path out;              ///< the swarm directory (created; must be new or empty)
  unsigned jobs = 1;                      ///< children at a time
  std::chrono::seconds seed_timeout{600}; ///< wall time per seed before it is killed
  std::chrono::seconds stop_grace{10};    ///< after SIGTERM, before SIGKILL
  volatile int* interrupted = nullptr;    ///< set by a signal handler: stop the swarm
  /// Called as each seed finishes, with its entry (progress on the console).
  std::function<void(const nlohmann::json& seed)> on_seed;
};

/// Runs the plan's shard; returns swarm.json's content (also written to out/swarm.json).
nlohmann::json run_swarm(const swarm_options& o);

/// Writes `summary` to dir/swarm.json (temp file + rename).
void write_swarm_json(const std::filesystem::path& dir, const nlohmann::json& summary);

} // namespace troupe::backends
