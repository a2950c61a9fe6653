#include "workloads/jobs.hpp"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include <caf/all.hpp>

#include <spdlog/spdlog.h>

#include "actors/echo.hpp"
#include "actors/json_read.hpp"
#include "actors/node_queries.hpp"
#include "actors/run_context.hpp"
#include "jobs/engine.hpp"
#include "jobs/engine_actor.hpp"
#include "jobs/job_counts.hpp"
#include "jobs/replay/replay.hpp"
#include "jobs/store.hpp"
#include "jobs/workers/sim_workers.hpp"
#include "jobs/workers/workers.hpp"
#include "workloads/fault_actions.hpp"
#include "workloads/jobs_live.hpp"

namespace troupe::workloads {

namespace jobs_detail {

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
  std::optional<jobs::latency_dist> snapshot_load; ///< read from a duration or a distribution
  std::vector<jobs::replay_slice> slices;          ///< the replay config, read at validation
  double error_p = 0, crash_p = 0;
  duration lease = 6h;
  // live workers (live backends only)
  std::vector<command_pool> commands; ///< command workers (pipeline stages or replay hosts)
  bool external_workers = false;      ///< outside workers claim over serve_port
  int serve_port = 0;
  // both
  std::string store = "file";
  duration sample_every = 1min;
  bool end_when_done = false; ///< the run ends when the campaign has finished

  bool live() const { return !commands.empty() || external_workers; }
};

const char* const live_only_fix =
  "command workers run live only: add \"backend\": \"local\" to the "
  "scenario (and run it on a live backend), or give "
  "process_latency for simulated workers";

std::string stage_list(const std::set<std::string>& types) {
  std::string out;
  for (const auto& t : types)
    out += (out.empty() ? "" : ", ") + t;
  return out;
}

/// One pool of command workers: {"type", "command", "verify_command", "workers", "timeout"}
/// (a replay pool has no type: its workers are replay hosts).
command_pool read_command_pool(params_reader& r, bool replay, const std::set<std::string>& types) {
  command_pool c;
  if (!replay) {
    c.type = r.string("type", "", true);
    if (!c.type.empty() && !types.empty() && !types.count(c.type))
      r.error("type",
              echo(c.type) + " is not a stage of the pipeline; stages: " + stage_list(types));
    c.verify_command = r.string("verify_command", "");
  }
  c.command = r.string("command", "", true);
  r.describe_key("command", {{"minLength", 1}});
  if (r.has("command") && c.command.empty())
    r.error("command", "must be a shell command, e.g. \"printf %s {key} | sha256sum\"");
  // A placeholder where the shell would not read its value as data is refused here, once,
  // instead of failing every task.
  for (const char* key : {"command", "verify_command"})
    try {
      const auto& tmpl = key[0] == 'c' ? c.command : c.verify_command;
      if (replay)
        jobs::check_replay_command_template(tmpl, "");
      else
        jobs::check_command_template(tmpl, "");
    } catch (const user_error& e) {
      r.error(key, e.what());
    }
  c.workers = static_cast<int>(r.integer("workers", c.workers, 1, 1000));
  c.timeout_ms =
    std::chrono::duration_cast<std::chrono::milliseconds>(r.dur("timeout", 10min, 1ms)).count();
  for (const char* sim_only : {"process_latency", "verify_latency", "fail_p", "crash_p",
                               "verify_pending_p", "verify_reject_p"})
    if (r.has(sim_only)) {
      r.allow({sim_only});
      r.error(sim_only, "belongs to simulated workers, and this pool runs a command: a command "
                        "fails through its exit code");
    }
  r.finish();
  return c;
}

/// A latency distribution: {"dist": "lognormal", "median_ms": 600000, "sigma": 0.5}.
std::optional<jobs::latency_dist> read_latency_object(params_reader& d) {
  auto dist = d.one_of("dist", {"constant", "uniform", "exponential", "lognormal"}, "");
  if (dist.empty() && d.has("dist")) {
    // A wrong "dist" (already reported): which fields belong is unknown.
    d.allow({"ms", "min_ms", "max_ms", "mean_ms", "median_ms", "sigma"});
    d.finish();
    return std::nullopt;
  }
  if (dist.empty())
    dist = "constant";
  using kind = jobs::latency_dist::kind;
  // At most a year of milliseconds: a latency beyond is a typo, and stays finite.
  auto ms = [&](const char* f) { return d.number(f, 1, 0, 3.2e10, true); };
  jobs::latency_dist out;
  const size_t errors_before = d.errors().size();
  if (dist == "constant")
    out = {kind::constant, ms("ms"), 0};
  else if (dist == "uniform")
    out = {kind::uniform, ms("min_ms"), ms("max_ms")};
  else if (dist == "exponential")
    out = {kind::exponential, ms("mean_ms"), 0};
  else
    out = {kind::lognormal, ms("median_ms"), d.number("sigma", 0, 0, 10, true)};
  if (dist == "uniform" && out.b < out.a && d.errors().size() == errors_before)
    d.error("max_ms",
            "must be >= min_ms (" + describe_json(out.a) + "), got " + describe_json(out.b));
  d.finish();
  return out;
}

/// A latency: a duration ("10m"), a number of milliseconds, or a distribution
/// ({"dist": "lognormal", "median_ms": 600000, "sigma": 0.5}); never negative.
std::optional<jobs::latency_dist> read_latency(params_reader& r, const char* key) {
  if (r.describing())
    r.describe_key(key,
                   {{"anyOf",
                     {{{"type", "string"}, {"pattern", duration_pattern}},
                      {{"type", "number"}, {"minimum", 0}, {"maximum", 3.2e10}},
                      params_reader::describe([](params_reader& d) { read_latency_object(d); })}}});
  const json* v = r.raw(key);
  if (!v)
    return std::nullopt;
  if (v->is_object()) {
    params_reader d{*v, r.path_of(key), r.errors()};
    return read_latency_object(d);
  }
  std::optional<double> ms;
  if (v->is_string()) {
    if (auto d = parse_duration(v->get<std::string>()))
      ms = static_cast<double>(d->count()) / 1e6;
  } else if (v->is_number() && v->get<double>() >= 0 && v->get<double>() <= 3.2e10) {
    ms = v->get<double>();
  }
  if (!ms) {
    r.error(key, "must be a duration >= 0 like \"10m\", a number of milliseconds >= 0, or a "
                 "latency distribution such as {\"dist\": \"lognormal\", \"median_ms\": "
                 "600000, \"sigma\": 0.5}, got " +
                   describe_json(*v));
    return std::nullopt;
  }
  return jobs::latency_dist::constant_ms(*ms);
}

/// One pool of simulated workers: {"type", "workers", "process_latency", "verify_latency",
/// "fail_p", "crash_p", "verify_pending_p", "verify_reject_p"}. `types`: the pipeline's stages
/// (empty when the pipeline itself is wrong: that error comes first).
jobs::sim_worker_spec read_sim_pool(params_reader& r, const std::set<std::string>& types) {
  jobs::sim_worker_spec s;
  s.type = r.string("type", "", true);
  if (!s.type.empty() && !types.empty() && !types.count(s.type))
    r.error("type", echo(s.type) + " is not a stage of the pipeline; stages: " + stage_list(types));
  s.workers = static_cast<int>(r.integer("workers", s.workers, 1, 100'000));
  if (auto l = read_latency(r, "process_latency"))
    s.process_latency = *l;
  if (auto l = read_latency(r, "verify_latency"))
    s.verify_latency = *l;
  s.fail_p = r.probability("fail_p", s.fail_p);
  s.crash_p = r.probability("crash_p", s.crash_p);
  s.verify_pending_p = r.probability("verify_pending_p", s.verify_pending_p);
  s.verify_reject_p = r.probability("verify_reject_p", s.verify_reject_p);
  r.finish();
  return s;
}

/// `base` + a path relative to it, as the jobs parsers write them (`stages[0].type`, `[3]`).
std::string below(const std::string& base, const std::string& rel) {
  if (rel.empty())
    return base;
  return base + (rel[0] == '[' ? "" : ".") + rel;
}

/// A replay-test config: read bounded (actors/json_read.hpp), each problem one error at
/// `key` naming the file and the place in it.
std::vector<jobs::replay_slice> read_replay_slices(params_reader& r, const char* key,
                                                   const std::string& file) {
  try {
    return jobs::parse_replay_config(read_json_file(file, "replay config"));
  } catch (const validation_failed& e) {
    for (const auto& err : e.errors())
      r.error(key, file + ": " + err.to_string());
  } catch (const user_error& e) {
    r.error(key, e.what());
  }
  return {};
}

/// Reads "workers": simulated pools, or command pools (those with a "command"); not both.
void read_workers(params_reader& r, params& p, const std::set<std::string>& types) {
  const bool replay = p.campaign == "replay";
  if (r.describing()) {
    // Command pools (those with a "command"), or for a pipeline simulated pools.
    auto command =
      params_reader::describe([&](params_reader& q) { read_command_pool(q, replay, types); });
    auto sim = params_reader::describe([&](params_reader& q) { read_sim_pool(q, types); });
    r.describe_key("workers", {{"type", "array"},
                               {"minItems", 1},
                               {"items", replay ? command : json{{"anyOf", {command, sim}}}}});
  }
  const json* wj = r.raw("workers");
  if (!wj) {
    if (!replay && !p.external_workers)
      r.error("workers", "is required for a pipeline campaign: [{\"type\": ..., \"workers\": "
                         "N, \"process_latency\": ...}, ...] (simulated) or [{\"type\": ..., "
                         "\"command\": \"...\"}, ...] (live), or set \"external_workers\": "
                         "true");
    return;
  }
  if (!wj->is_array() || wj->empty()) {
    r.error("workers", "must be a non-empty list of worker pools, got " + describe_json(*wj));
    return;
  }
  size_t commands = 0;
  for (const auto& w : *wj)
    commands += w.is_object() && w.contains("command");
  if (commands > 0 && commands < wj->size()) {
    r.error("workers", "mixes simulated pools and command pools: a campaign runs either on "
                       "the actor clock (process_latency) or live (command), not both");
    return;
  }
  for (size_t i = 0; i < wj->size(); ++i) {
    const std::string path = r.path_of("workers") + "[" + std::to_string(i) + "]";
    if (commands > 0) {
      params_reader pr{(*wj)[i], path, r.errors()};
      p.commands.push_back(read_command_pool(pr, replay, types));
      continue;
    }
    if (replay) {
      r.errors().push_back({path + ".command", "is required: replay campaigns take command "
                                               "workers (replay hosts); simulated hosts are "
                                               "set with \"hosts\" instead of \"workers\""});
      continue;
    }
    params_reader pr{(*wj)[i], path, r.errors()};
    p.workers.push_back(read_sim_pool(pr, types));
  }
}

params read(params_reader& r, const scenario& s) {
  params p;
  p.campaign = r.one_of("campaign", {"pipeline", "replay"}, "", true);
  p.store = r.one_of("store", {"file", "memory"}, p.store);
  p.sample_every = r.dur("sample_every", p.sample_every, 1ms);
  p.external_workers = r.boolean("external_workers", false);
  p.end_when_done = r.boolean("end_when_done", false);
  p.serve_port = static_cast<int>(r.integer("serve_port", 0, 0, 65535));
  std::set<std::string> types;
  if (p.campaign == "pipeline") {
    // Read by the job engine's own parser (jobs::parse_pipeline): described here.
    r.describe_key(
      "pipeline", {{"type", "object"},
                   {"required", {"name", "stages"}},
                   {"properties",
                    {{"name", {{"type", "string"}}},
                     {"stages",
                      {{"type", "array"},
                       {"minItems", 1},
                       {"items",
                        {{"type", "object"},
                         {"required", {"type"}},
                         {"properties", {{"type", {{"type", "string"}, {"minLength", 1}}}}}}}}}}}});
    r.describe_rule({{"required", {"pipeline"}}});
    if (auto pj = r.raw("pipeline")) {
      p.pipeline = *pj;
      try {
        for (const auto& stage : jobs::parse_pipeline(p.pipeline).stages)
          types.insert(stage.type);
      } catch (const validation_failed& e) {
        for (const auto& err : e.errors())
          r.errors().push_back({below(r.path_of("pipeline"), err.path), err.message});
      }
    } else {
      r.error("pipeline", "is required for a pipeline campaign: {\"name\": ..., \"stages\": "
                          "[{\"type\": ...}, ...]}");
    }
    p.first_key = r.integer("first_key", p.first_key, 0, INT64_MAX);
    p.count = r.integer("count", p.count, 1, 10'000'000);
    read_workers(r, p, types);
  } else if (p.campaign == "replay") {
    read_workers(r, p, types);
    p.replay_config = r.string("replay_config", "", true);
    if (!p.replay_config.empty())
      p.slices = read_replay_slices(r, "replay_config", p.replay_config);
    p.hosts = static_cast<int>(r.integer("hosts", p.hosts, 1, 100'000));
    p.blocks_per_second = r.number("blocks_per_second", p.blocks_per_second, 1e-3, 1e9);
    p.snapshot_load = read_latency(r, "snapshot_load");
    p.error_p = r.probability("error_p", p.error_p);
    p.crash_p = r.probability("crash_p", p.crash_p);
    p.lease = r.dur("lease", p.lease);
  }
  if (p.external_workers && p.serve_port == 0)
    r.error("serve_port", "is required with \"external_workers\": true, so that outside workers "
                          "(troupe jobs work --url http://127.0.0.1:PORT, replay hosts) can "
                          "find the server");
  if (r.has("serve_port") && !p.live())
    r.error("serve_port", "serves live workers: add command workers ({\"command\": ...}) or "
                          "\"external_workers\": true, or remove it (simulated workers need no "
                          "server)");
  // The scenario's backend is all validation knows; a --backend sim override of a live
  // scenario is refused when the run starts (the workload reports it).
  if (p.live() && s.backend.name == "sim") {
    for (size_t i = 0; i < p.commands.size(); ++i)
      r.errors().push_back(
        {r.path_of("workers") + "[" + std::to_string(i) + "].command", live_only_fix});
    if (p.external_workers)
      r.error("external_workers", "outside workers reach a live server only: add \"backend\": "
                                  "\"local\" to the scenario, or use simulated workers "
                                  "(process_latency) instead");
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
  // simulated workers: the campaign runs inside the engine actor, reached by messages
  std::shared_ptr<jobs::engine_host> host; ///< read only inside the engine actor
  caf::actor engine;
  // live workers
  std::shared_ptr<live_campaign> live;
  caf::actor keeper; ///< joins the live workers off the actor threads
  std::string error; ///< why the campaign could not start
  jobs::time_ms next_report_ms = 0;
  jobs::time_ms report_every_ms = 1000;
  // both
  caf::actor_clock::time_point t0{};
  jobs::time_ms next_sample_ms = 0;
  json series_time = json::array();
  std::map<std::string, std::vector<uint64_t>> series; ///< status -> counts
  bool reported = false;
  bool running = false;
};

using actor_t = caf::stateful_actor<state>;

/// Jobs by status (`by_type`, counted by the engine's owner): the replay-test statuses for a
/// replay campaign, the engine's otherwise.
void sample(state& st, jobs::time_ms now_ms, const jobs::type_status_counts& by_type) {
  // For `--metrics-port`: a view outside the run (it never flows back into a simulation).
  if (st.ctx->live)
    st.ctx->live->update([&](live_snapshot& s) {
      for (const auto& [key, n] : by_type)
        s.jobs_by_type_status[key] = n;
    });
  const auto counts = jobs::count_by_status(by_type, st.p.campaign == "replay");
  st.series_time.push_back(static_cast<double>(now_ms) / 1e3);
  for (const auto& [status, n] : counts) {
    auto& v = st.series[status];
    v.resize(st.series_time.size() - 1, 0);
    v.push_back(n);
  }
  for (auto& [status, v] : st.series)
    v.resize(st.series_time.size(), 0);
}

jobs::time_ms elapsed_ms(actor_t* self) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(self->clock().now() - self->state.t0)
    .count();
}

/// Sends the campaign as far as it got to the runner (and so to report.json and the
/// expectations). `final`: the last report (the campaign finished, or the run ended).
/// `then` runs once the report is on its way (not when an earlier final report was sent).
void report_campaign(actor_t* self, bool final, std::function<void()> then = {}) {
  auto& st = self->state;
  if (st.reported)
    return;
  st.reported = final;
  json by_status = json::object();
  for (const auto& [status, v] : st.series)
    by_status[status] = v;
  json detail{{"workload", st.name},
              {"campaign", st.p.campaign},
              {"series", {{"time_s", st.series_time}, {"by_status", by_status}}}};
  if (!st.error.empty()) {
    detail["finished"] = false;
    detail["error"] = st.error;
    detail["summary"] = {
      {"total", 0}, {"by_status", json::object()}, {"failed", json::array()}, {"error", st.error}};
    detail["phases"] = json::object();
  } else if (st.live) {
    detail["summary"] = st.live->summary(elapsed_ms(self));
    detail["finished"] = st.live->finished();
    detail["phases"] = st.live->with(phases_of);
  } else {
    // The campaign's state lives in the engine actor: ask it (after a commit, so that the
    // store says what the report says).
    auto parts = std::make_shared<json>();
    jobs::engine_call call{[parts](jobs::engine_host& h, jobs::time_ms) {
      h.e->commit();
      (*parts)["finished"] = h.run->finished();
      (*parts)["summary"] = h.run->summary();
      (*parts)["phases"] = phases_of(*h.e, h.replay.get());
    }};
    self->request(st.engine, caf::infinite, jobs::engine_call_atom::value, std::move(call))
      .then([self, detail, parts, then](bool) mutable {
        detail.update(*parts);
        report(self, *self->state.ctx, "jobs", self->state.name, {}, -1, detail.dump());
        if (then)
          then();
      });
    return;
  }
  report(self, *st.ctx, "jobs", st.name, {}, -1, detail.dump());
  if (then)
    then();
}

/// `end_when_done`: the campaign finished, so the run ends now instead of at its duration
/// (sent after the final report: the runner takes them in that order).
void end_run(actor_t* self) {
  auto& st = self->state;
  spdlog::info("workload {}: the campaign finished; ending the run (end_when_done)", st.name);
  self->send(st.ctx->runner, stop_atom::value);
}

/// Counts jobs in the engine actor, then samples them.
void sample_engine(actor_t* self, jobs::time_ms now_ms, std::function<void()> then) {
  auto counts = std::make_shared<jobs::type_status_counts>();
  jobs::engine_call call{[counts](jobs::engine_host& h, jobs::time_ms) {
    *counts = jobs::count_by_type_and_status(*h.e, h.replay.get());
  }};
  self->request(self->state.engine, caf::infinite, jobs::engine_call_atom::value, std::move(call))
    .then([self, now_ms, counts, then](bool) {
      sample(self->state, now_ms, *counts);
      then();
    });
}

/// Samples now: a live campaign's counts under its lock, a simulated one's in its engine actor.
void take_sample(actor_t* self, jobs::time_ms now_ms, std::function<void()> then) {
  auto& st = self->state;
  if (!st.live)
    return sample_engine(self, now_ms, std::move(then));
  sample(st, now_ms, st.live->with(jobs::count_by_type_and_status));
  then();
}

/// A tick's second half, after a sample if one was due: the final report, a progress report
/// (live), or the next wake at the campaign's next event or the next sample, whichever comes
/// first (live workers move on their own, so look again soon).
void end_tick_sampled(actor_t* self, jobs::time_ms now_ms, std::optional<jobs::time_ms> next,
                      bool finished) {
  auto& st = self->state;
  if (finished) {
    st.running = false;
    take_sample(self, now_ms, [self] {
      std::function<void()> then;
      if (self->state.p.end_when_done)
        then = [self] { end_run(self); };
      report_campaign(self, true, std::move(then));
    });
    return;
  }
  if (st.live && now_ms >= st.next_report_ms) {
    report_campaign(self, false);
    st.next_report_ms = now_ms + st.report_every_ms;
  }
  jobs::time_ms wake = st.next_sample_ms;
  if (next)
    wake = std::min(wake, *next);
  if (st.live)
    wake = std::min(wake, now_ms + 100);
  self->delayed_send(self, std::chrono::milliseconds(std::max<jobs::time_ms>(wake - now_ms, 0)),
                     tick_atom::value);
}

/// A tick's end, once the campaign has advanced to `now_ms`.
void end_tick(actor_t* self, jobs::time_ms now_ms, std::optional<jobs::time_ms> next,
              bool finished) {
  auto& st = self->state;
  if (!st.running) // the run stopped meanwhile
    return;
  if (now_ms < st.next_sample_ms)
    return end_tick_sampled(self, now_ms, next, finished);
  st.next_sample_ms =
    now_ms + std::chrono::duration_cast<std::chrono::milliseconds>(st.p.sample_every).count();
  take_sample(self, now_ms, [self, now_ms, next, finished] {
    if (self->state.running)
      end_tick_sampled(self, now_ms, next, finished);
  });
}

void build(state& st, const run_context& ctx) {
  std::string path = ":memory:";
  if (st.p.store == "file") {
    path = (ctx.run_dir / ("jobs-" + st.name + ".db")).string();
    // A run directory reused for a new run starts a new campaign, not a resumed one.
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path + suffix);
  }
  if (st.p.live()) {
    live_campaign::options o;
    o.name = st.name;
    o.campaign = st.p.campaign;
    o.pipeline = st.p.pipeline;
    o.first_key = st.p.first_key;
    o.count = st.p.count;
    o.slices = st.p.slices;
    o.lease_ms = std::chrono::duration_cast<std::chrono::milliseconds>(st.p.lease).count();
    o.pools = st.p.commands;
    o.external_workers = st.p.external_workers;
    o.serve_port = st.p.serve_port;
    o.db_path = path;
    o.seed = stable_hash(st.name, ctx.seed);
    st.live = std::make_shared<live_campaign>(o);
    st.live->start();
    return;
  }
  auto& h = *(st.host = std::make_shared<jobs::engine_host>());
  // The campaign's workers call the engine in line, in event order; the store is read when
  // the run reports (which commits), and commits on its own every 4096 changed jobs.
  h.group_commit = false;
  h.db = std::shared_ptr<jobs::store>(jobs::store::open(path).release());
  h.e = std::make_shared<jobs::engine>(h.db.get(), jobs::engine::options{ctx.seed, 4096});
  // Every job change goes into the run's digest (sim), so that campaigns that behave
  // differently cannot share one: status, job, attempts and (virtual) time.
  if (ctx.trace)
    h.e->set_observer([trace = ctx.trace](const jobs::job& j, jobs::time_ms now) {
      const auto attempts = static_cast<uint64_t>(j.process_attempts) << 16 |
                            static_cast<uint64_t>(j.verification_attempts);
      trace->fold_event(static_cast<uint32_t>(j.status), j.id,
                        static_cast<uint64_t>(now) << 32 ^ attempts);
    });
  if (st.p.campaign == "pipeline") {
    auto pipe = jobs::parse_pipeline(st.p.pipeline);
    h.e->add_pipeline(pipe);
    jobs::sim_pipeline_campaign::options o;
    o.seed = stable_hash(st.name, ctx.seed);
    o.pipeline = pipe.name;
    o.first_key = st.p.first_key;
    o.count = st.p.count;
    o.workers = st.p.workers;
    h.run = std::make_shared<jobs::sim_pipeline_campaign>(*h.e, o);
  } else {
    const auto lease_ms = std::chrono::duration_cast<std::chrono::milliseconds>(st.p.lease);
    h.replay = std::make_shared<jobs::replay_service>(
      *h.e, jobs::replay_service::options{lease_ms.count(), ""});
    jobs::sim_replay_campaign::options o;
    h.replay->load(st.p.slices, 0);
    o.seed = stable_hash(st.name, ctx.seed);
    o.hosts = st.p.hosts;
    o.blocks_per_second = st.p.blocks_per_second;
    o.error_p = st.p.error_p;
    o.crash_p = st.p.crash_p;
    if (st.p.snapshot_load)
      o.snapshot_load = *st.p.snapshot_load;
    h.run = std::make_shared<jobs::sim_replay_campaign>(*h.replay, o);
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
      st.t0 = self->clock().now();
      if (st.p.live() && st.ctx->virtual_time) {
        st.error = std::string("workload ") + st.name + ": " + live_only_fix;
      } else {
        try {
          build(st, *st.ctx);
        } catch (const std::exception& e) {
          st.error = "workload " + st.name + " could not start its campaign: " + e.what();
          if (st.p.serve_port != 0)
            st.error += " (in the scenario: set \"serve_port\" to a free port, or remove it)";
          st.live.reset(); // started no worker: nothing to join
        }
      }
      if (!st.error.empty()) {
        spdlog::error("{}", st.error);
        report_campaign(self, true);
        return;
      }
      if (st.live) {
        // Workers block (commands, sockets): they live on their own threads, and the keeper
        // joins them on its own thread when the run stops or this workload goes down (Ctrl-C).
        st.keeper = self->home_system().spawn(
          [live = st.live, workload = caf::actor_cast<caf::actor>(self)](caf::blocking_actor* k) {
            k->monitor(workload);
            k->receive([](const caf::down_msg&) {}, [](stop_atom) {});
            live->shutdown();
          });
        // About a hundred progress reports per run, at least one a second: if the run is
        // interrupted, report.json still has the campaign as it was a moment before.
        st.report_every_ms = std::max<jobs::time_ms>(
          1000,
          std::chrono::duration_cast<std::chrono::milliseconds>(st.ctx->run_duration).count() /
            100);
      }
      if (st.host) {
        st.engine = jobs::spawn_engine(self->home_system(), st.host);
        self->link_to(st.engine); // the engine and its campaign go down with this workload
      }
      st.running = true;
      self->send(self, tick_atom::value);
    },
    [=](tick_atom) {
      auto& st = self->state;
      if (!st.running)
        return;
      const auto now_ms = elapsed_ms(self);
      if (st.live) {
        end_tick(self, now_ms, std::nullopt, st.live->finished());
        return;
      }
      self->request(st.engine, caf::infinite, jobs::engine_advance_atom::value, now_ms)
        .then([self, now_ms](jobs::time_ms next, bool finished) {
          end_tick(self, now_ms, next < 0 ? std::nullopt : std::optional<jobs::time_ms>(next),
                   finished);
        });
    },
    [=](stop_atom) {
      auto& st = self->state;
      st.running = false;
      // The run ended first: report the campaign as far as it got (finished: false).
      if (st.host || st.live) {
        if (st.live && !st.reported)
          sample(st, elapsed_ms(self), st.live->with(jobs::count_by_type_and_status));
        report_campaign(self, true);
      }
      if (st.live) {
        st.live->request_stop(); // kills running commands now; the keeper joins
        self->send(st.keeper, stop_atom::value);
      }
    },
  };
}

} // namespace jobs_detail

actor_kind jobs_kind() {
  auto k = make_actor_kind("jobs",
                           "a job campaign (pipeline or replay) with simulated, command or outside "
                           "workers",
                           jobs_detail::read, jobs_detail::behavior);
  k.needs_nodes = false; // a campaign needs no nodes
  return k;
}

} // namespace troupe::workloads
