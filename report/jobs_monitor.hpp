#pragma once
// What `troupe jobs serve` looks like right now, for the views outside the engine: the
// Prometheus metrics (`--metrics-port`) and the live dashboard (`--serve`). Live path only:
// it owns a thread and reads the wall clock.
//
// Once per sample period it sends the server's engine actor a call (http_server::call_engine)
// that counts jobs by type and status (replay jobs by their replay-test status) and copies the
// failure queue's head, then, with the answer, it
//   - sets troupe_jobs{type,status},
//   - advances troupe_http_requests_total{server="jobs",route,code} by what the server
//     answered since the previous sample,
//   - appends one point to a bounded history (counts by status over time) for the charts.
// Phase latencies reach troupe_job_phase_seconds as they happen, not from sampling: the
// engine calls `observe` for every job it changes, and a job that left a status records the
// time it spent there (phase = the status it left: waiting, created, processing,
// pending_verification, verifying).

#include "jobs/engine.hpp"
#include "jobs/http/http_server.hpp"
#include "jobs/replay/replay.hpp"

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace troupe::jobs {

class jobs_monitor {
public:
  struct options {
    std::string db;  ///< shown on the dashboard
    std::string url; ///< where workers reach the server
    time_ms sample_ms = 1000;
    size_t history_max = 600; ///< points kept for the charts (oldest dropped first)
  };

  // -- constructors -----------------------------------------------------------

  /// `replay` may be null. Takes a first sample at once, then one per period on its thread.
  jobs_monitor(http_server& server, const replay_service* replay, options o);
  ~jobs_monitor();
  jobs_monitor(const jobs_monitor&) = delete;
  jobs_monitor& operator=(const jobs_monitor&) = delete;

  // -- observers --------------------------------------------------------------

  /// The dashboard's JSON: {db, url, replay, phase, uptime_s, jobs: engine summary,
  /// replay_summary?, by_status, history: {time_s, by_status: {status: [n...]}},
  /// requests: [{route, code, count}], phases: {type: {phase: {count, p50, p90, p99}}}}
  /// (percentiles over the most recent 4096 durations of each phase).
  nlohmann::json snapshot() const;

  /// Takes a sample now (the thread does this every period; tests call it to not wait).
  void sample();

  /// Marks the server as stopping (shown on the dashboard) and stops sampling.
  void stop();

  /// A job changed at `now` (called by the engine, in its actor). When its status differs
  /// from the one seen last, the time spent in the old one is a phase duration. A job first
  /// seen here (created now, or loaded after a restart) starts its clock now.
  void observe(const job& j, time_ms now);

private:
  void run();
  void record_phase(const std::string& type, const std::string& phase, double seconds);

  http_server& server_;
  const replay_service* replay_;
  options opts_;
  time_ms started_ms_;

  mutable std::mutex mtx_; ///< guards everything below
  std::condition_variable cv_;
  bool stopping_ = false;
  nlohmann::json summary_;
  nlohmann::json replay_summary_;
  std::map<std::string, uint64_t> by_status_;
  std::vector<double> time_s_;
  std::map<std::string, std::vector<uint64_t>> history_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, uint64_t> refused_; ///< worker reports refused, by reason, last seen
  std::map<std::pair<std::string, std::string>, std::vector<double>> phases_; ///< recent samples
  std::map<std::pair<std::string, std::string>, uint64_t> phase_counts_;      ///< all of them
  std::thread thread_;
  /// In the engine actor only: each unfinished job's status and since when.
  std::unordered_map<job_id, std::pair<job_status, time_ms>> in_status_;
};

} // namespace troupe::jobs
