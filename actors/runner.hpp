#pragma once
// The runner owns a run: deploy -> ready -> workloads -> observe -> stop -> evaluate ->
// report -> teardown. Teardown happens on every path (pass, fail, exception, Ctrl-C), and
// the report is written on every path that got as far as deploying.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/registry.hpp"
#include "actors/scenario/scenario.hpp"

namespace troupe {

struct run_request {
  std::string scenario_path;            ///< for the reproduce command; may be empty
  std::optional<std::string> backend;   ///< overrides the scenario's backend
  std::optional<uint64_t> seed;         ///< overrides the scenario's seed
  std::optional<duration> run_duration; ///< overrides the scenario's duration
  std::filesystem::path out;            ///< run directory; empty: runs/<name>-<timestamp>
  bool quiet = false;                   ///< no console summary / progress
  bool write_events = false;            ///< events.jsonl trace (sim)
  uint64_t events_bytes_max = 64ull << 20;
  duration sample_every = std::chrono::seconds(1); ///< height series sampling period
  /// Builds the backend instead of the registry (e.g. a sim backend recording a trace
  /// window for --check-determinism).
  std::function<backend_ptr()> make_backend;
  /// Keys added to report.json as they are (e.g. `vary`: the fault parameters drawn from the
  /// seed, actors/scenario/vary.hpp), so the report says what this run was.
  nlohmann::json report_extra = nlohmann::json::object();
  /// Appended to the reproduce command (e.g. " --vary"), so it names the same run.
  std::string reproduce_flags;

  // -- observability (docs/observability.md); none of it changes what a run does -------
  std::string log_level = "warn"; ///< console level of troupe's log; troupe.log gets >= info
  bool progress = true;           ///< live progress line, when stdout is a TTY and !quiet
  int metrics_port = -1;          ///< >= 0: Prometheus /metrics on 127.0.0.1 (0: any port)
  int serve_port = -1;            ///< >= 0: live dashboard on 127.0.0.1 (0: any port)
  std::string prometheus_url;     ///< default URL for `metric` expectations
  /// > 0, virtual-time backends only: at most this many run seconds per wall second, so a
  /// person (or a test) can watch a simulation on the dashboard. Never changes the result.
  double pace = 0;
  /// Called once the metrics endpoint and the dashboard listen (-1: not serving).
  std::function<void(int metrics_port, int dashboard_port)> on_serving;
  /// Called once report.json is written, with what the run recorded (e.g. to record it in an
  /// events database). A user_error it throws reaches the caller of run_scenario, after the
  /// report is on disk.
  std::function<void(const run_outcome& outcome, const nlohmann::json& report,
                     const std::filesystem::path& run_dir)>
    on_reported;
};

struct run_result {
  int exit_code = 0; ///< 0 pass, 1 an expectation failed, 2 bad input / deploy failure
  std::filesystem::path run_dir;
  nlohmann::json report;
};

/// Runs a validated scenario. Throws user_error for problems found before deploying
/// (unknown backend, a node spec the backend cannot realise); later failures end in a
/// report with verdict "error".
run_result run_scenario(const scenario& s, const run_request& req,
                        const registry& reg = registry::global());

/// Set by the command line's SIGINT/SIGTERM handler; the runner stops, tears down and still
/// writes the report.
extern volatile int run_interrupted;

} // namespace troupe
