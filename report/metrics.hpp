#pragma once
// Troupe's own Prometheus metrics (prometheus-cpp). One process-wide registry; `serve` binds
// the /metrics endpoint on 127.0.0.1 (`--metrics-port`). The metric names (all `troupe_`):
//
//   run:   troupe_run_seconds, troupe_run_duration_seconds, troupe_run_progress_ratio,
//          troupe_run_wall_seconds, troupe_run_info{scenario,backend,phase}
//   nodes: troupe_nodes{state="up"|"total"}, troupe_height{stat="min"|"max"}
//   txs:   troupe_txs_submitted_total, troupe_txs_included_total
//   sim:   troupe_sim_messages_total, troupe_sim_drops_total (the backend's counters)
//   faults: troupe_faults_total{action}, troupe_faults_active
//   http:  troupe_http_requests_total{server,route,code}
//   jobs:  troupe_jobs{type,status} (gauge), troupe_job_phase_seconds{type,phase} (histogram)
//
// `troupe jobs serve --metrics-port` fills the job-engine series (report/jobs_monitor):
// troupe_jobs by sampling the engine, troupe_job_phase_seconds as jobs change phase, and
// troupe_http_requests_total{server="jobs"} from the server's own per-route counts.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "actors/live_snapshot.hpp"

namespace prometheus {
class Exposer;
class Registry;
} // namespace prometheus

namespace troupe::metrics {

/// The process-wide registry (created on first use).
std::shared_ptr<prometheus::Registry> registry();

/// A running /metrics endpoint; stops when destroyed.
class endpoint {
public:
  /// Binds 127.0.0.1:`port` (0: any free port). Throws user_error when it cannot.
  explicit endpoint(int port);
  ~endpoint();
  int port() const noexcept { return port_; }

private:
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
};

/// Publishes a run's live snapshot: gauges are set, counters advance by what changed since
/// the previous call (counters only ever go up; a new run continues from where it was).
void publish(const live_snapshot& s);

/// One HTTP request answered by one of troupe's servers.
void http_request(const std::string& server, const std::string& route, int code);
/// `n` HTTP requests answered (servers that count on their own hot path report in batches).
void http_requests(const std::string& server, const std::string& route, int code, uint64_t n);

/// Job engine gauges: number of jobs per (type, status), replacing the previous values.
void observe_jobs(const std::map<std::pair<std::string, std::string>, int64_t>& counts);
/// `n` more worker reports refused by the job engine for `reason` (stale_fence, not_owner).
void job_reports_refused(const std::string& reason, uint64_t n);
/// One job phase took `seconds` (e.g. phase "queued", "running").
void observe_job_phase(const std::string& type, const std::string& phase, double seconds);

} // namespace troupe::metrics
