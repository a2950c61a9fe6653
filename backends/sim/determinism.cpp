#include "backends/sim/determinism.hpp"

#include <cinttypes>
#include <cstdio>

#include "backends/sim/sim_backend.hpp"

namespace troupe::backends {

determinism_result check_determinism(const scenario& s, const run_request& req,
                                     const registry& reg) {
  determinism_result out;
  const auto base = req.out.empty() ? std::filesystem::path("runs") / (s.name + "-determinism")
                                    : req.out;
  auto run = [&](const sim::trace_request& tr) {
    auto trace = std::make_shared<sim::world_trace>();
    run_request r = req;
    r.backend = "sim";
    r.quiet = true;
    r.out = base / ("run-" + std::to_string(++out.runs));
    r.make_backend = [tr, trace] { return std::make_unique<sim_backend>(tr, trace); };
    auto result = run_scenario(s, r, reg);
    if (out.runs == 1)
      out.first_run = result;
    return *trace;
  };
  out.divergence = sim::compare_runs(run);
  return out;
}

std::string describe(const determinism_result& r) {
  char buf[64];
  const auto& d = r.divergence;
  if (!d.diverged) {
    std::snprintf(buf, sizeof buf, "%016" PRIx64, d.first_digest);
    return std::string("deterministic: ") + std::to_string(r.runs) +
           " runs gave the same trace digest " + buf + "\n";
  }
  std::string out = "NOT deterministic: the runs diverge at trace event #" +
                    std::to_string(d.index) + "\n  run 1: " + d.first_event +
                    "\n  run 2: " + d.second_event + "\n";
  std::snprintf(buf, sizeof buf, "%016" PRIx64 " vs %016" PRIx64, d.first_digest,
                d.second_digest);
  out += std::string("  final digests: ") + buf + "\n";
  if (!d.note.empty())
    out += "  " + d.note + "\n";
  out += "  Something in the simulated world reads the wall clock, a thread, an unseeded random "
         "source or unordered-container order.\n";
  return out;
}

} // namespace troupe::backends
