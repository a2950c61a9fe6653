#pragma once
// What a run looks like right now, for the views outside the simulated world (report/: the
// progress line, the Prometheus metrics and the live dashboard). The runner writes it on every
// height sample; the views read copies from their own threads (wall clock). Nothing read here
// ever flows back into the run, so a simulation stays deterministic whatever the views do.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe {

struct live_snapshot {
  // -- what runs --------------------------------------------------------------
  std::string scenario;
  std::string backend;
  bool virtual_time = false;
  std::string phase = "starting"; ///< starting, deploying, running, evaluating, done
  std::string verdict;            ///< set when done

  // -- progress ---------------------------------------------------------------
  double run_s = 0;      ///< run time so far (virtual in sim)
  double duration_s = 0; ///< planned run time
  double wall_s = 0;     ///< wall-clock seconds since the run started
  size_t nodes_total = 0;
  size_t nodes_up = 0;
  int64_t height_min = 0; ///< over up nodes
  int64_t height_max = 0;
  uint64_t txs_submitted = 0;
  uint64_t txs_included = 0; ///< final on at least one node
  uint64_t messages = 0;     ///< delivered (backend counter, when it has one)
  uint64_t drops = 0;
  uint64_t faults_total = 0;
  std::map<std::string, uint64_t> faults_by_action; ///< applied so far
  uint64_t refusals_total = 0; ///< controls and faults the backend refused (never applied)
  std::vector<std::string> active_faults; ///< "partition v1,v2"
  /// Job campaigns (`jobs` workloads): jobs by (type, status) at their latest sample.
  std::map<std::pair<std::string, std::string>, int64_t> jobs_by_type_status;
  /// Progress reports of each campaign (by workload name) that the runner has recorded for
  /// report.json: a view, or a test, knows when a campaign's state has reached the record.
  std::map<std::string, uint64_t> campaign_reports;

  // -- a short history for the dashboard's charts (bounded) -------------------
  static constexpr size_t history_max = 600;
  std::vector<double> t_s;
  std::vector<int64_t> h_min, h_median, h_max;
  std::vector<uint64_t> messages_at, drops_at, included_at;

  nlohmann::json to_json() const;
};

/// The shared snapshot. Cheap to update (one mutex), copied out for readers.
class live_status {
public:
  template <class F> void update(F&& f) {
    std::lock_guard<std::mutex> guard{mtx_};
    f(snap_);
  }
  live_snapshot get() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return snap_;
  }

private:
  mutable std::mutex mtx_;
  live_snapshot snap_;
};

} // namespace troupe
