#include "report/jobs_monitor.hpp"

#include "actors/node_queries.hpp"
#include "jobs/job_counts.hpp"
#include "report/metrics.hpp"

#include <algorithm>
#include <array>

namespace troupe::jobs {

namespace {

/// Phase samples kept per (type, phase) for the dashboard's percentiles: the most recent.
constexpr size_t phase_samples_max = 4096;

struct counts {
  nlohmann::json summary;
  nlohmann::json replay_summary;
  type_status_counts by_type_status;
};

/// In the engine actor: the engine summary (the failure queue's head only), and the jobs
/// by type and status.
counts count(const engine& e, const replay_service* replay) {
  counts c;
  c.summary = e.summary();
  auto& failed = c.summary["failed"];
  if (failed.size() > 20)
    failed.erase(failed.begin() + 20, failed.end());
  c.by_type_status = count_by_type_and_status(e, replay);
  if (replay)
    c.replay_summary = nlohmann::json::parse(replay->summary().dump());
  return c;
}

} // namespace

jobs_monitor::jobs_monitor(http_server& server, const replay_service* replay, options o)
  : server_(server)
  , replay_(replay)
  , opts_(std::move(o))
  , started_ms_(wall_now_ms()) {
  sample();
  thread_ = std::thread([this] { run(); });
}

jobs_monitor::~jobs_monitor() {
  stop();
  if (thread_.joinable())
    thread_.join();
}

void jobs_monitor::stop() {
  std::lock_guard<std::mutex> guard{mtx_};
  stopping_ = true;
  cv_.notify_all();
}

void jobs_monitor::run() {
  std::unique_lock<std::mutex> lk(mtx_);
  while (!stopping_) {
    cv_.wait_for(lk, std::chrono::milliseconds(opts_.sample_ms), [this] { return stopping_; });
    if (stopping_)
      break;
    lk.unlock();
    sample();
    lk.lock();
  }
}

void jobs_monitor::sample() {
  auto c = server_.call_engine([this](engine& e) { return count(e, replay_); });
  const auto requests = server_.request_counts();
  const double t = static_cast<double>(wall_now_ms() - started_ms_) / 1e3;

  metrics::observe_jobs(c.by_type_status);
  const auto by_status = count_by_status(c.by_type_status, replay_ != nullptr);

  std::lock_guard<std::mutex> guard{mtx_};
  for (const auto& [key, n] : requests) {
    auto& seen = requests_[key];
    if (n > seen)
      metrics::http_requests("jobs", key.first, key.second, n - seen);
    seen = n;
  }
  if (const auto* refused = c.summary.contains("refused") ? &c.summary["refused"] : nullptr)
    for (const char* reason : {"stale_fence", "not_owner"}) {
      const auto n = refused->value(reason, uint64_t{0});
      auto& seen = refused_[reason];
      if (n > seen)
        metrics::job_reports_refused(reason, n - seen);
      seen = n;
    }
  summary_ = std::move(c.summary);
  replay_summary_ = std::move(c.replay_summary);
  by_status_ = by_status;
  if (time_s_.size() == opts_.history_max) {
    time_s_.erase(time_s_.begin());
    for (auto& [status, v] : history_)
      if (!v.empty())
        v.erase(v.begin());
  }
  time_s_.push_back(t);
  for (const auto& [status, n] : by_status) {
    auto& v = history_[status];
    v.resize(time_s_.size() - 1, 0);
    v.push_back(n);
  }
  for (auto& [status, v] : history_)
    v.resize(time_s_.size(), 0);
}

void jobs_monitor::observe(const job& j, time_ms now) {
  auto it = in_status_.find(j.id);
  if (it == in_status_.end()) {
    if (!is_terminal(j.status))
      in_status_.emplace(j.id, std::make_pair(j.status, now));
    return;
  }
  auto [was, since] = it->second;
  if (was == j.status)
    return;
  record_phase(j.type, std::string(to_string(was)), static_cast<double>(now - since) / 1e3);
  if (is_terminal(j.status))
    in_status_.erase(it);
  else
    it->second = {j.status, now};
}

void jobs_monitor::record_phase(const std::string& type, const std::string& phase, double seconds) {
  metrics::observe_job_phase(type, phase, seconds);
  std::lock_guard<std::mutex> guard{mtx_};
  ++phase_counts_[{type, phase}];
  auto& v = phases_[{type, phase}];
  if (v.size() == phase_samples_max)
    v.erase(v.begin(), v.begin() + phase_samples_max / 2);
  v.push_back(seconds);
}

nlohmann::json jobs_monitor::snapshot() const {
  std::lock_guard<std::mutex> guard{mtx_};
  nlohmann::json out;
  out["db"] = opts_.db;
  out["url"] = opts_.url;
  out["replay"] = replay_ != nullptr;
  out["phase"] = stopping_ ? "stopped" : "serving";
  out["uptime_s"] = static_cast<double>(wall_now_ms() - started_ms_) / 1e3;
  out["jobs"] = summary_;
  if (replay_)
    out["replay_summary"] = replay_summary_;
  out["by_status"] = by_status_;
  out["history"] = {{"time_s", time_s_}, {"by_status", history_}};
  auto requests = nlohmann::json::array();
  for (const auto& [key, n] : requests_)
    requests.push_back({{"route", key.first}, {"code", key.second}, {"count", n}});
  out["requests"] = requests;
  auto phases = nlohmann::json::object();
  for (const auto& [key, v] : phases_) {
    auto sorted = v;
    std::sort(sorted.begin(), sorted.end());
    phases[key.first][key.second] = {{"count", phase_counts_.at(key)},
                                     {"p50", percentile(sorted, 50)},
                                     {"p90", percentile(sorted, 90)},
                                     {"p99", percentile(sorted, 99)}};
  }
  out["phases"] = phases;
  return out;
}

} // namespace troupe::jobs
