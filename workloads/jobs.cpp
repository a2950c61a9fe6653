#include "workloads/jobs.hpp"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <map>

#include <caf/all.hpp>

#include "actors/jobs/engine.hpp"
#include "actors/jobs/replay.hpp"
#include "actors/jobs/sim_workers.hpp"
#include "actors/jobs/store.hpp"
#include "actors/node_queries.hpp"
#include "actors/run_context.hpp"
#include "workloads/fault_actions.hpp"

namespace troupe::workloads {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct params {
  std::string campaign; ///< "pipeline" | "replay"
  // pipeline
  json pipeline;
  int64_t first_key = 1;
  int64_t count = 100;
  std::vector<jobs::sim_worker_spec> workers;
  // replay
  std::string replay_config;
  int hosts = 8;
  double blocks_per_second = 2000;
  json snapshot_load; ///< a latency distribution, or a duration string
  double error_p = 0, crash_p = 0;
  duration lease = 6h;
  // both
  std::string store = "file";
  duration sample_every = 1min;
};

jobs::latency_dist parse_latency(params_reader& r, const char* key, const json& v) {
  if (v.is_string()) {
    auto d = parse_duration(v.get<std::string>());
    if (d)
      return jobs::latency_dist::constant_ms(static_cast<double>(d->count()) / 1e6);
  }
  try {
    return jobs::latency_dist::parse(v);
  } catch (const std::exception& e) {
    r.error(key, std::string("must be a duration like \"10m\" or a latency distribution such "
                             "as {\"dist\": \"lognormal\", \"median_ms\": 600000, \"sigma\": "
                             "0.5}: ") +
                   e.what());
    return jobs::latency_dist::constant_ms(1);
  }
}

params read(params_reader& r, const scenario&) {
  params p;
  p.campaign = r.one_of("campaign", {"pipeline", "replay"}, "", true);
  p.store = r.one_of("store", {"file", "memory"}, p.store);
  p.sample_every = r.dur("sample_every", p.sample_every, 1ms);
  if (p.campaign == "pipeline") {
    if (auto pj = r.raw("pipeline")) {
      p.pipeline = *pj;
      try {
        jobs::parse_pipeline(p.pipeline);
      } catch (const std::exception& e) {
        r.error("pipeline", std::string("is not a valid pipeline: ") + e.what());
      }
    } else {
      r.error("pipeline", "is required for a pipeline campaign: {\"name\": ..., \"stages\": "
                          "[{\"type\": ...}, ...]}");
    }
    p.first_key = r.integer("first_key", p.first_key, 0, INT64_MAX);
    p.count = r.integer("count", p.count, 1, 10'000'000);
    if (auto wj = r.raw("workers")) {
      if (!wj->is_array() || wj->empty())
        r.error("workers", "must be a non-empty list of worker pools, got " + describe_json(*wj));
      else
        for (size_t i = 0; i < wj->size(); ++i) {
          try {
            p.workers.push_back(jobs::sim_worker_spec::parse((*wj)[i]));
          } catch (const std::exception& e) {
            r.errors().push_back({r.path_of("workers") + "[" + std::to_string(i) + "]",
                                  std::string("is not a worker pool: ") + e.what()});
          }
        }
    } else {
      r.error("workers", "is required for a pipeline campaign: [{\"type\": ..., \"workers\": "
                         "N, \"process_latency\": ...}, ...]");
    }
  } else if (p.campaign == "replay") {
    p.replay_config = r.string("replay_config", "", true);
    if (!p.replay_config.empty()) {
      try {
        jobs::load_replay_config(p.replay_config);
      } catch (const std::exception& e) {
        r.error("replay_config", e.what());
      }
    }
    p.hosts = static_cast<int>(r.integer("hosts", p.hosts, 1, 100'000));
    p.blocks_per_second = r.number("blocks_per_second", p.blocks_per_second, 1e-3, 1e9);
    if (auto sj = r.raw("snapshot_load"))
      p.snapshot_load = *sj;
    p.error_p = r.probability("error_p", p.error_p);
    p.crash_p = r.probability("crash_p", p.crash_p);
    p.lease = r.dur("lease", p.lease);
  }
  return p;
}

/// Seconds since the epoch of a replay-test time ("YYYY-MM-DDTHH:MM:SS", UTC), or -1.
double replay_seconds(const std::optional<std::string>& t) {
  std::tm tm{};
  if (!t || !strptime(t->c_str(), "%Y-%m-%dT%H:%M:%S", &tm))
    return -1;
  return static_cast<double>(timegm(&tm));
}

/// Latency per job type in seconds: created -> finished for pipeline jobs; for replay jobs,
/// the host's STARTED -> COMPLETE times (snapshot load and replay), as the protocol reports them.
json phases_of(const jobs::engine& e, const jobs::replay_service* replay) {
  std::map<std::string, std::vector<double>> by_type;
  if (replay)
    for (const auto& j : replay->jobs()) {
      const double start = replay_seconds(j.start_time), end = replay_seconds(j.end_time);
      if (j.status == jobs::replay_status::COMPLETE && start >= 0 && end >= start)
        by_type["replay"].push_back(end - start);
    }
  else
    for (jobs::job_id id = 1; id <= static_cast<jobs::job_id>(e.size()); ++id)
    if (auto j = e.find(id); j && j->status == jobs::job_status::completed)
      by_type[j->type].push_back(static_cast<double>(j->finished_ms - j->created_ms) / 1e3);
  json out = json::object();
  for (auto& [type, v] : by_type) {
    std::sort(v.begin(), v.end());
    out[type] = json{{"count", v.size()},
                     {"p50", percentile(v, 50)},
                     {"p90", percentile(v, 90)},
                     {"p99", percentile(v, 99)},
                     {"max", v.back()}};
  }
  return out;
}

struct state {
  run_context_ptr ctx;
  std::string name;
  params p;
  std::shared_ptr<jobs::store> db;
  std::shared_ptr<jobs::engine> engine;
  std::shared_ptr<jobs::replay_service> replay;
  std::shared_ptr<jobs::campaign> campaign;
  caf::actor_clock::time_point t0{};
  jobs::time_ms next_sample_ms = 0;
  json series_time = json::array();
  std::map<std::string, std::vector<uint64_t>> series; ///< status -> counts
  bool reported = false;
  bool running = false;
};

using actor_t = caf::stateful_actor<state>;

void sample(state& st, jobs::time_ms now_ms) {
  st.series_time.push_back(static_cast<double>(now_ms) / 1e3);
  auto push = [&](const std::string& status, uint64_t n) {
    auto& v = st.series[status];
    v.resize(st.series_time.size() - 1, 0);
    v.push_back(n);
  };
  if (st.replay) {
    std::map<std::string, uint64_t> counts;
    for (const auto& j : st.replay->jobs())
      ++counts[std::string(jobs::to_string(j.status))];
    for (const auto& [status, n] : counts)
      push(status, n);
  } else {
    for (int s = 0; s < jobs::job_status_count; ++s)
      push(std::string(jobs::to_string(static_cast<jobs::job_status>(s))),
           st.engine->count(static_cast<jobs::job_status>(s)));
  }
  for (auto& [status, v] : st.series)
    v.resize(st.series_time.size(), 0);
}

void report_summary(actor_t* self) {
  auto& st = self->state;
  if (st.reported)
    return;
  st.reported = true;
  st.engine->commit();
  json by_status = json::object();
  for (const auto& [status, v] : st.series)
    by_status[status] = v;
  json detail{{"workload", st.name},
              {"campaign", st.p.campaign},
              {"finished", st.campaign->finished()},
              {"summary", st.campaign->summary()},
              {"series", {{"time_s", st.series_time}, {"by_status", by_status}}},
              {"phases", phases_of(*st.engine, st.replay.get())}};
  report(self, *st.ctx, "jobs", st.name, {}, -1, detail.dump());
}

void build(state& st, const run_context& ctx) {
  std::string path = ":memory:";
  if (st.p.store == "file") {
    path = (ctx.run_dir / ("jobs-" + st.name + ".db")).string();
    // A run directory reused for a new run starts a new campaign, not a resumed one.
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path + suffix);
  }
  st.db = std::shared_ptr<jobs::store>(jobs::store::open(path).release());
  st.engine = std::make_shared<jobs::engine>(st.db.get(), jobs::engine::options{ctx.seed, 4096});
  if (st.p.campaign == "pipeline") {
    auto pipe = jobs::parse_pipeline(st.p.pipeline);
    st.engine->add_pipeline(pipe);
    jobs::sim_pipeline_campaign::options o;
    o.seed = stable_hash(st.name, ctx.seed);
    o.pipeline = pipe.name;
    o.first_key = st.p.first_key;
    o.count = st.p.count;
    o.workers = st.p.workers;
    st.campaign = std::make_shared<jobs::sim_pipeline_campaign>(*st.engine, o);
  } else {
    const auto lease_ms = std::chrono::duration_cast<std::chrono::milliseconds>(st.p.lease);
    st.replay = std::make_shared<jobs::replay_service>(
      *st.engine, jobs::replay_service::options{lease_ms.count(), ""});
    jobs::sim_replay_campaign::options o;
    st.replay->load(jobs::load_replay_config(st.p.replay_config), 0);
    o.seed = stable_hash(st.name, ctx.seed);
    o.hosts = st.p.hosts;
    o.blocks_per_second = st.p.blocks_per_second;
    o.error_p = st.p.error_p;
    o.crash_p = st.p.crash_p;
    if (!st.p.snapshot_load.is_null()) {
      std::vector<validation_error> ignored;
      params_reader r{json::object(), "", ignored};
      o.snapshot_load = parse_latency(r, "snapshot_load", st.p.snapshot_load);
    }
    st.campaign = std::make_shared<jobs::sim_replay_campaign>(*st.replay, o);
  }
}

caf::behavior behavior(actor_t* self, run_context_ptr ctx, kind_entry entry) {
  auto& st = self->state;
  st.ctx = ctx;
  st.name = entry.name;
  st.p = read_validated(read, entry, *ctx->scenario);
  return {
    [=](start_atom) {
      auto& st = self->state;
      build(st, *st.ctx);
      st.running = true;
      st.t0 = self->clock().now();
      self->send(self, tick_atom::value);
    },
    [=](tick_atom) {
      auto& st = self->state;
      if (!st.running)
        return;
      const auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now() - st.t0).count();
      auto next = st.campaign->advance(now_ms);
      if (now_ms >= st.next_sample_ms) {
        sample(st, now_ms);
        st.next_sample_ms =
          now_ms + std::chrono::duration_cast<std::chrono::milliseconds>(st.p.sample_every).count();
      }
      if (st.campaign->finished()) {
        sample(st, now_ms);
        report_summary(self);
        st.running = false;
        return;
      }
      // Wake at the campaign's next event or the next sample, whichever comes first.
      jobs::time_ms wake = st.next_sample_ms;
      if (next)
        wake = std::min(wake, *next);
      self->delayed_send(self, std::chrono::milliseconds(std::max<jobs::time_ms>(wake - now_ms, 0)),
                         tick_atom::value);
    },
    [=](stop_atom) {
      auto& st = self->state;
      if (!st.campaign)
        return;
      st.running = false;
      // The run ended first: report the campaign as far as it got (finished: false).
      report_summary(self);
    },
  };
}

} // namespace

actor_kind jobs_kind() {
  return make_actor_kind("jobs", "a job campaign (pipeline or replay) with simulated workers", read,
                         behavior);
}

} // namespace troupe::workloads
