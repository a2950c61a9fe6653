#include "workloads/jobs_live.hpp"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "actors/errors.hpp"

namespace troupe::workloads {

using nlohmann::json;

live_campaign::live_campaign(options o)
  : opts_(std::move(o))
  , running_(std::make_shared<jobs::running_commands>()) {}

live_campaign::~live_campaign() { shutdown(); }

void live_campaign::start() {
  db_ = jobs::store::open(opts_.db_path);
  // The server is the store's only writer while it serves (as `jobs serve`).
  engine_ = std::make_unique<jobs::engine>(db_.get(), jobs::engine::options{opts_.seed, SIZE_MAX});
  const jobs::time_ms now = jobs::wall_now_ms();
  if (opts_.campaign == "pipeline") {
    const auto pipe = jobs::parse_pipeline(opts_.pipeline);
    engine_->add_pipeline(pipe);
    for (const auto& p : pipe.policies)
      verifies_[p.type] = p.verify;
    engine_->load(now);
  } else {
    replay_ = std::make_unique<jobs::replay_service>(
      *engine_, jobs::replay_service::options{opts_.lease_ms, ""});
    engine_->load(now);
    replay_->load(opts_.slices, now);
  }
  const std::string pipe =
    opts_.campaign == "pipeline" ? engine_->pipelines().front().name : std::string();
  jobs::http_server::options so;
  so.port = opts_.serve_port;
  server_ = std::make_unique<jobs::http_server>(*engine_, replay_.get(), so);
  port_ = server_->start();
  started_ = true;
  if (opts_.campaign == "pipeline") {
    server_->call_engine([&](jobs::engine& e) {
      for (int64_t k = opts_.first_key; k < opts_.first_key + opts_.count; ++k)
        e.enqueue_pipeline(pipe, k, "{\"block\":" + std::to_string(k) + "}", jobs::wall_now_ms());
      return 0;
    });
  }
  spdlog::info("jobs workload {}: serving {} campaign on http://127.0.0.1:{}{}", opts_.name,
               opts_.campaign, port_,
               opts_.external_workers ? " (waiting for outside workers)" : "");
  start_workers();
}

void live_campaign::start_workers() {
  const std::string url = "http://127.0.0.1:" + std::to_string(port_);
  auto should_stop = [this] { return stopping_.load(); };
  // A worker that cannot reach the server any more ends; the campaign reports it.
  auto guarded = [this](auto body) {
    return [this, body] {
      try {
        body();
      } catch (const std::exception& e) {
        ++worker_errors_;
        std::lock_guard<std::mutex> lk(error_mutex_);
        last_worker_error_ = e.what();
        if (!stopping_)
          spdlog::error("jobs workload {}: a worker stopped: {}", opts_.name, e.what());
      }
    };
  };
  for (size_t p = 0; p < opts_.pools.size(); ++p) {
    const auto& pool = opts_.pools[p];
    counts_.push_back(std::make_unique<pool_counts>());
    pool_counts* c = counts_.back().get();
    for (int i = 0; i < pool.workers; ++i) {
      const std::string name =
        opts_.name + "-" + (pool.type.empty() ? "replay" : pool.type) + "-" + std::to_string(i);
      if (opts_.campaign == "pipeline") {
        jobs::remote_worker_options o;
        o.url = url;
        o.worker = name;
        o.type = pool.type;
        o.idle_poll_ms = opts_.idle_poll_ms;
        o.should_stop = should_stop;
        const bool verifies = verifies_[pool.type];
        o.on_reported = [c, verifies](const jobs::task& t, const jobs::work_result& r, int status) {
          ++c->tasks;
          if (status == 409) {
            ++c->lost;
            return;
          }
          if (status != 200)
            return;
          const bool ok = r.what == jobs::work_result::kind::ok;
          if (t.which == jobs::phase::process && !ok)
            ++c->failed;
          if (t.which == jobs::phase::verify && r.what == jobs::work_result::kind::reject)
            ++c->rejected;
          if (ok && (t.which == jobs::phase::verify || !verifies))
            ++c->completed;
        };
        auto work =
          jobs::command_worker(pool.command, pool.timeout_ms, running_, pool.verify_command);
        threads_.emplace_back(guarded([o, work] { jobs::run_remote_worker(o, work); }));
      } else {
        jobs::replay_host_options o;
        o.url = url;
        o.command = pool.command;
        o.timeout_ms = pool.timeout_ms;
        o.idle_poll_ms = opts_.idle_poll_ms;
        o.should_stop = should_stop;
        o.running = running_;
        o.on_finished = [c](jobs::job_id, const std::string& status) {
          ++c->tasks;
          ++(status == "COMPLETE" ? c->completed : c->failed);
        };
        threads_.emplace_back(guarded([o] { jobs::run_replay_host(o); }));
      }
    }
  }
}

void live_campaign::request_stop() noexcept {
  stopping_ = true;
  running_->kill_all();
}

void live_campaign::shutdown() {
  if (shut_down_)
    return;
  shut_down_ = true;
  request_stop();
  // Bounded: each worker checks the flag between requests (idle polls are idle_poll_ms) and
  // its command, if any, was just killed.
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
  if (server_ && started_)
    server_->stop();
}

bool live_campaign::finished() {
  return with([&](const jobs::engine& e, const jobs::replay_service* r) {
    return r ? r->finished() : e.quiescent();
  });
}

json live_campaign::summary(jobs::time_ms elapsed_ms) {
  json s = with([&](const jobs::engine& e, const jobs::replay_service* r) {
    json out;
    if (r) {
      out["replay_summary"] = json::parse(r->summary().dump());
      out["campaign"] = {{"kind", "replay"}};
      out["campaign"]["finished"] = r->finished();
    } else {
      out = e.summary();
      out["campaign"] = {
        {"kind", "pipeline"}, {"pipeline", e.pipelines().front().name}, {"keys", opts_.count}};
      out["campaign"]["finished"] = e.quiescent();
    }
    return out;
  });
  auto& c = s["campaign"];
  c["workers"] = "live";
  c["wall_time_ms"] = elapsed_ms;
  c["url"] = "http://127.0.0.1:" + std::to_string(port_);
  json pools = json::array();
  uint64_t completed_here = 0;
  for (size_t p = 0; p < counts_.size(); ++p) {
    const auto& k = *counts_[p];
    completed_here += k.completed;
    json j = {{"workers", opts_.pools[p].workers},
              {"command", opts_.pools[p].command},
              {"tasks", k.tasks.load()},
              {"failed", k.failed.load()},
              {"completed", k.completed.load()}};
    if (opts_.campaign == "pipeline") {
      j["type"] = opts_.pools[p].type;
      j["rejected"] = k.rejected.load();
      j["lost_leases"] = k.lost.load();
    }
    pools.push_back(std::move(j));
  }
  c["command_workers"] = pools;
  // Whatever completed and was not completed by our pools, outside workers completed.
  const uint64_t completed_total = s.contains("replay_summary")
                                     ? s["replay_summary"].value("jobs_succeeded", uint64_t{0})
                                     : s["by_status"].value("completed", uint64_t{0});
  c["external_workers"] = {
    {"expected", opts_.external_workers},
    {"jobs_completed", completed_total > completed_here ? completed_total - completed_here : 0}};
  if (worker_errors_ > 0) {
    std::lock_guard<std::mutex> lk(error_mutex_);
    c["worker_errors"] = worker_errors_.load();
    c["last_worker_error"] = last_worker_error_;
  }
  return s;
}

} // namespace troupe::workloads
