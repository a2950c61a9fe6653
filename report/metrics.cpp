#include "report/metrics.hpp"

#include <mutex>
#include <stdexcept>

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "actors/errors.hpp"

namespace troupe::metrics {

namespace {

using prometheus::Counter;
using prometheus::Gauge;
using prometheus::Histogram;

struct families {
  std::shared_ptr<prometheus::Registry> reg = std::make_shared<prometheus::Registry>();
  std::mutex mtx; ///< publish() keeps "what was published last" for counter deltas

  prometheus::Family<Gauge>& run_seconds =
    prometheus::BuildGauge()
      .Name("troupe_run_seconds")
      .Help("Run time so far (virtual seconds in sim, wall seconds live)")
      .Register(*reg);
  prometheus::Family<Gauge>& run_duration = prometheus::BuildGauge()
                                              .Name("troupe_run_duration_seconds")
                                              .Help("Planned run time")
                                              .Register(*reg);
  prometheus::Family<Gauge>& run_progress = prometheus::BuildGauge()
                                              .Name("troupe_run_progress_ratio")
                                              .Help("Run time so far over planned run time (0..1)")
                                              .Register(*reg);
  prometheus::Family<Gauge>& run_wall = prometheus::BuildGauge()
                                          .Name("troupe_run_wall_seconds")
                                          .Help("Wall-clock seconds since the run started")
                                          .Register(*reg);
  prometheus::Family<Gauge>& run_info = prometheus::BuildGauge()
                                          .Name("troupe_run_info")
                                          .Help("1 for the current run and phase")
                                          .Register(*reg);
  prometheus::Family<Gauge>& nodes =
    prometheus::BuildGauge().Name("troupe_nodes").Help("Nodes by state (up, total)").Register(*reg);
  prometheus::Family<Gauge>& height = prometheus::BuildGauge()
                                        .Name("troupe_height")
                                        .Help("Chain height over up nodes (min, max)")
                                        .Register(*reg);
  prometheus::Family<Counter>& txs_submitted = prometheus::BuildCounter()
                                                 .Name("troupe_txs_submitted_total")
                                                 .Help("Transactions submitted by workloads")
                                                 .Register(*reg);
  prometheus::Family<Counter>& txs_included = prometheus::BuildCounter()
                                                .Name("troupe_txs_included_total")
                                                .Help("Transactions final on at least one node")
                                                .Register(*reg);
  prometheus::Family<Counter>& messages = prometheus::BuildCounter()
                                            .Name("troupe_sim_messages_total")
                                            .Help("Messages delivered by the simulated network")
                                            .Register(*reg);
  prometheus::Family<Counter>& drops =
    prometheus::BuildCounter()
      .Name("troupe_sim_drops_total")
      .Help("Messages dropped by the simulated network (loss, partition, crash)")
      .Register(*reg);
  prometheus::Family<Counter>& faults = prometheus::BuildCounter()
                                          .Name("troupe_faults_total")
                                          .Help("Faults applied, by action")
                                          .Register(*reg);
  prometheus::Family<Gauge>& faults_active = prometheus::BuildGauge()
                                               .Name("troupe_faults_active")
                                               .Help("Faults in effect now")
                                               .Register(*reg);
  prometheus::Family<Counter>& http =
    prometheus::BuildCounter()
      .Name("troupe_http_requests_total")
      .Help("HTTP requests answered by troupe's servers, by server, route and status code")
      .Register(*reg);
  prometheus::Family<Gauge>& jobs =
    prometheus::BuildGauge().Name("troupe_jobs").Help("Jobs by type and status").Register(*reg);
  prometheus::Family<Counter>& job_refused =
    prometheus::BuildCounter()
      .Name("troupe_job_reports_refused_total")
      .Help("Worker reports the job engine refused: a stale fencing token, or not the lease owner")
      .Register(*reg);
  prometheus::Family<Histogram>& job_phase = prometheus::BuildHistogram()
                                               .Name("troupe_job_phase_seconds")
                                               .Help("Time jobs spend in each phase")
                                               .Register(*reg);

  // -- what was published last (counters advance by the difference) ----------
  live_snapshot last;
  Gauge* info = nullptr;
  std::map<std::pair<std::string, std::string>, Gauge*> job_gauges;
};

families& fam() {
  static families f;
  return f;
}

/// A counter's increment from a snapshot value that restarts at 0 with every run.
double delta(uint64_t now, uint64_t before) {
  return now >= before ? static_cast<double>(now - before) : static_cast<double>(now);
}

} // namespace

std::shared_ptr<prometheus::Registry> registry() { return fam().reg; }

endpoint::endpoint(int port) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>("127.0.0.1:" + std::to_string(port), 2);
  } catch (const std::exception& e) {
    throw user_error("--metrics-port " + std::to_string(port) + ": cannot listen on 127.0.0.1 (" +
                     e.what() + "); choose a free port or 0 for any");
  }
  exposer_->RegisterCollectable(registry());
  auto ports = exposer_->GetListeningPorts();
  port_ = ports.empty() ? port : ports.front();
}

endpoint::~endpoint() = default;

namespace {

void observe_jobs_locked(families& f,
                         const std::map<std::pair<std::string, std::string>, int64_t>& counts) {
  for (auto& [key, g] : f.job_gauges)
    if (!counts.count(key))
      g->Set(0);
  for (const auto& [key, n] : counts) {
    auto& g = f.job_gauges[key];
    if (!g)
      g = &f.jobs.Add({{"type", key.first}, {"status", key.second}});
    g->Set(static_cast<double>(n));
  }
}

} // namespace

void publish(const live_snapshot& s) {
  auto& f = fam();
  std::lock_guard<std::mutex> guard{f.mtx};
  // A new run (its clock went back) starts its deltas from zero.
  const bool new_run = s.run_s < f.last.run_s || s.scenario != f.last.scenario;
  if (new_run) {
    f.last = live_snapshot{};
  }
  if (!s.jobs_by_type_status.empty())
    observe_jobs_locked(f, s.jobs_by_type_status);
  f.run_seconds.Add({}).Set(s.run_s);
  f.run_duration.Add({}).Set(s.duration_s);
  f.run_progress.Add({}).Set(s.duration_s > 0 ? std::min(1.0, s.run_s / s.duration_s) : 0.0);
  f.run_wall.Add({}).Set(s.wall_s);
  if (f.info)
    f.run_info.Remove(f.info);
  f.info = &f.run_info.Add({{"scenario", s.scenario}, {"backend", s.backend}, {"phase", s.phase}});
  f.info->Set(1);
  f.nodes.Add({{"state", "up"}}).Set(static_cast<double>(s.nodes_up));
  f.nodes.Add({{"state", "total"}}).Set(static_cast<double>(s.nodes_total));
  f.height.Add({{"stat", "min"}}).Set(static_cast<double>(s.height_min));
  f.height.Add({{"stat", "max"}}).Set(static_cast<double>(s.height_max));
  f.txs_submitted.Add({}).Increment(delta(s.txs_submitted, f.last.txs_submitted));
  f.txs_included.Add({}).Increment(delta(s.txs_included, f.last.txs_included));
  f.messages.Add({}).Increment(delta(s.messages, f.last.messages));
  f.drops.Add({}).Increment(delta(s.drops, f.last.drops));
  f.faults_active.Add({}).Set(static_cast<double>(s.active_faults.size()));
  for (const auto& [action, n] : s.faults_by_action) {
    auto it = f.last.faults_by_action.find(action);
    f.faults.Add({{"action", action}})
      .Increment(delta(n, it == f.last.faults_by_action.end() ? 0 : it->second));
  }
  f.last = s;
}

void http_request(const std::string& server, const std::string& route, int code) {
  http_requests(server, route, code, 1);
}

void http_requests(const std::string& server, const std::string& route, int code, uint64_t n) {
  fam()
    .http.Add({{"server", server}, {"route", route}, {"code", std::to_string(code)}})
    .Increment(static_cast<double>(n));
}

void observe_jobs(const std::map<std::pair<std::string, std::string>, int64_t>& counts) {
  auto& f = fam();
  std::lock_guard<std::mutex> guard{f.mtx};
  observe_jobs_locked(f, counts);
}

void job_reports_refused(const std::string& reason, uint64_t n) {
  fam().job_refused.Add({{"reason", reason}}).Increment(static_cast<double>(n));
}

void observe_job_phase(const std::string& type, const std::string& phase, double seconds) {
  static const Histogram::BucketBoundaries buckets{0.001, 0.01, 0.1, 0.5, 1,   5,
                                                   15,    60,   300, 900, 3600};
  fam().job_phase.Add({{"type", type}, {"phase", phase}}, buckets).Observe(seconds);
}

} // namespace troupe::metrics
