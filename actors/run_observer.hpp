#pragma once
// How the runner reports, without knowing who listens (DESIGN.md: "actors/ includes nothing
// of ours"). Two interfaces, both filled by apps/catalog from report/:
//
//   run_reporter  turns what a run recorded (run_outcome) into report.json and the files
//                 beside it, and returns report.json's value; called once, after teardown,
//                 on every path that got as far as deploying.
//   run_views     what a person or a scraper watches while a run goes (progress line,
//                 Prometheus metrics, live dashboard). Made before deploying from the run's
//                 live_status, finished once the report is written.
//
// Nothing an observer does flows back into the run: a simulation stays deterministic
// whatever the views do.

#include <filesystem>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

namespace troupe {

// Declared, not included: the registry holds these interfaces, and run_outcome's own
// headers include the registry.
class live_status;
struct run_outcome;
struct run_request;

class run_views {
public:
  virtual ~run_views() = default;

  /// The report is written (the snapshot says "done"): show the final state, then stop.
  /// Called once; the destructor must also stop whatever still runs.
  virtual void finish() = 0;
};

/// Makes the views a request asks for (none: nullptr). Throws user_error when one cannot
/// start (e.g. a busy --serve port).
using run_views_factory = std::function<std::unique_ptr<run_views>(
  std::shared_ptr<live_status> live, const run_request& req)>;

/// Writes the run's report files into `run_dir` and returns report.json's value.
using run_reporter =
  std::function<nlohmann::json(const run_outcome& outcome, const std::filesystem::path& run_dir)>;

} // namespace troupe
