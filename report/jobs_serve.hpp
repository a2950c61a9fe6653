#pragma once
// `troupe jobs serve`: the job engine behind its HTTP server (jobs/http), with the views a
// person or a scraper watches (report/: Prometheus metrics, the jobs dashboard). The engine
// and the server know nothing of the views; this is where they are put together.

#include <functional>
#include <string>
#include <vector>

#include "jobs/engine.hpp"

namespace troupe::jobs {

struct serve_options {
  std::string db = "troupe-jobs.db";
  std::string replay_config;          ///< replay-test slice config; empty: native face only
  std::vector<std::string> pipelines; ///< pipeline definition files (define job types)
  std::string host = "127.0.0.1";
  /// Serve a non-loopback host although the store holds no token (anyone who reaches it may
  /// change the campaign); without it such a host is refused.
  bool insecure = false;
  int port = 4000;      ///< 0: any free port
  time_ms lease_ms = 0; ///< replay jobs: silent longer than this -> TIMEOUT, re-queued; 0: never
  uint64_t seed = 1;
  /// Polled every 100 ms; serving ends when it returns true (signal handlers set a flag).
  std::function<bool()> should_stop;
  /// Called once the port is bound (tests and `--port 0` learn the port here).
  std::function<void(int port)> on_ready;
  time_ms run_ms_max = 0;   ///< stop after this long; 0: until should_stop
  int metrics_port = -1;    ///< Prometheus /metrics on 127.0.0.1 (0: any free port; -1: off)
  int dashboard_port = -1;  ///< live dashboard on 127.0.0.1 (0: any free port; -1: off)
  time_ms sample_ms = 1000; ///< how often the metrics and the dashboard sample the engine
  /// Called once per view that is up: ("metrics" | "dashboard", bound port).
  std::function<void(const std::string& view, int port)> on_view;
};

/// Opens (or creates) the database, loads the campaign, serves until told to stop.
/// Throws troupe::user_error for bad files, a busy port, a different campaign in the db.
void serve(const serve_options& o);

/// 127.0.0.0/8, ::1 or localhost.
bool is_loopback_host(const std::string& host);

} // namespace troupe::jobs
