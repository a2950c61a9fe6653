#include "actors/runner.hpp"

#include <atomic>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <mutex>
#include <sstream>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/errors.hpp"
#include "actors/node_protocol.hpp"
#include "actors/node_queries.hpp"
#include "actors/report.hpp"
#include "actors/run_context.hpp"
#include "actors/scenario/topology.hpp"
#include "actors/units.hpp"

namespace troupe {

volatile int run_interrupted = 0;

namespace {

using nlohmann::json;
using caf_clock = caf::actor_clock;

/// What the runner actor records; read by the calling thread once the run is over.
struct run_record {
  std::mutex mtx;
  std::atomic<bool> done{false};
  std::vector<double> sample_times_s;
  std::vector<std::vector<int64_t>> heights; ///< per node, one entry per sample (-1: down)
  std::vector<run_event> events;             ///< faults, heals (transactions are counted)
  std::vector<verdict> verdicts;
  std::vector<node_status> final_status;
  uint64_t txs_submitted = 0;
  uint64_t txs_rejected = 0;
  double run_seconds = 0;
};

struct runner_state {
  std::shared_ptr<run_context> ctx;
  std::shared_ptr<run_record> rec;
  std::vector<caf::actor> workloads;
  std::vector<caf::actor> expectations;
  std::vector<std::string> expectation_names;
  duration sample_every{};
  bool stopping = false;
  static inline const char* name = "runner";
};

using runner_actor = caf::stateful_actor<runner_state>;

double seconds_since(runner_actor* self) {
  auto d = self->clock().now() - self->state.ctx->origin;
  return std::chrono::duration<double>(d).count();
}

template <class F>
void collect_status(runner_actor* self, F done) {
  troupe::collect_status(self, self->state.ctx->nodes, std::move(done));
}

void finish(runner_actor* self) {
  auto& st = self->state;
  collect_status(self, [self](const std::vector<node_status>& statuses) {
    auto& rec = *self->state.rec;
    std::lock_guard<std::mutex> guard{rec.mtx};
    rec.final_status = statuses;
    rec.run_seconds = seconds_since(self);
    rec.done = true;
    self->quit();
  });
  (void) st;
}

void evaluate(runner_actor* self) {
  auto& st = self->state;
  const size_t n = st.expectations.size();
  if (n == 0) {
    finish(self);
    return;
  }
  auto verdicts = std::make_shared<std::vector<verdict>>(n);
  auto pending = std::make_shared<size_t>(n);
  for (size_t i = 0; i < n; ++i) {
    auto on_done = [=] {
      if (--*pending == 0) {
        std::lock_guard<std::mutex> guard{self->state.rec->mtx};
        self->state.rec->verdicts = *verdicts;
        finish(self);
      }
    };
    self->request(st.expectations[i], std::chrono::seconds(60), evaluate_atom::value)
      .then(
        [=](const verdict& v) {
          (*verdicts)[i] = v;
          on_done();
        },
        [=](caf::error& err) {
          // One expectation that cannot answer does not hide the others' verdicts.
          auto& v = (*verdicts)[i];
          v.name = self->state.expectation_names[i];
          v.kind = v.name;
          v.pass = false;
          v.summary = "no verdict: " + to_string(err);
          v.evidence = json{{"error", to_string(err)}}.dump();
          on_done();
        });
  }
}

caf::behavior runner_behavior(runner_actor* self, std::shared_ptr<run_context> ctx,
                              std::shared_ptr<run_record> rec, std::vector<caf::actor> workloads,
                              std::vector<caf::actor> expectations,
                              std::vector<std::string> expectation_names, duration sample_every) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.rec = std::move(rec);
  st.workloads = std::move(workloads);
  st.expectations = std::move(expectations);
  st.expectation_names = std::move(expectation_names);
  st.sample_every = sample_every;
  return {
    [=](start_atom) {
      auto& st = self->state;
      // Expectations first: they must be observing before the first transaction or fault.
      for (auto& e : st.expectations)
        self->send(e, start_atom::value);
      for (auto& w : st.workloads)
        self->send(w, start_atom::value);
      self->send(self, tick_atom::value);
      self->delayed_send(self, st.ctx->run_duration, stop_atom::value);
    },
    [=](tick_atom) {
      if (self->state.stopping)
        return;
      const double t = seconds_since(self);
      collect_status(self, [self, t](const std::vector<node_status>& statuses) {
        auto& rec = *self->state.rec;
        std::lock_guard<std::mutex> guard{rec.mtx};
        rec.sample_times_s.push_back(t);
        rec.heights.resize(statuses.size());
        for (size_t i = 0; i < statuses.size(); ++i)
          rec.heights[i].push_back(statuses[i].up ? static_cast<int64_t>(statuses[i].height)
                                                  : -1);
      });
      self->delayed_send(self, self->state.sample_every, tick_atom::value);
    },
    [=](event_atom, const run_event& ev) {
      auto& st = self->state;
      for (auto& e : st.expectations)
        self->send(e, event_atom::value, ev);
      std::lock_guard<std::mutex> guard{st.rec->mtx};
      if (ev.kind == "tx")
        ++(ev.action == "submitted" ? st.rec->txs_submitted : st.rec->txs_rejected);
      else if (st.rec->events.size() < 100000) // bounded: a chaos run cannot exhaust memory
        st.rec->events.push_back(ev);
    },
    [=](stop_atom) {
      auto& st = self->state;
      if (st.stopping)
        return;
      st.stopping = true;
      for (auto& w : st.workloads)
        self->send(w, stop_atom::value);
      // Let the workloads' last messages land before judging.
      self->delayed_send(self, std::chrono::milliseconds(1), evaluate_atom::value);
    },
    [=](evaluate_atom) { evaluate(self); },
  };
}

std::string timestamp_utc() {
  // Run directory names only; nothing the simulator computes depends on it.
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

std::string reproduce_command(const scenario& s, const run_request& req) {
  std::ostringstream out;
  out << "troupe run " << (req.scenario_path.empty() ? s.name + ".json" : req.scenario_path)
      << " --seed " << s.seed;
  if (req.backend)
    out << " --backend " << *req.backend;
  if (req.run_duration)
    out << " --duration " << format_duration(*req.run_duration);
  return out.str();
}

} // namespace

run_result run_scenario(const scenario& s0, const run_request& req, const registry& reg) {
  scenario s = s0;
  if (req.seed)
    s.seed = *req.seed;
  if (req.run_duration)
    s.run_duration = *req.run_duration;
  if (req.backend)
    s.backend.name = *req.backend;
  const backend_kind* bk = reg.backend(s.backend.name);
  if (!bk)
    throw user_error("backend \"" + s.backend.name + "\" is not available; known backends: " +
                     reg.backend_names());
  auto topo = expand(s);

  run_result result;
  result.run_dir = req.out.empty() ? std::filesystem::path("runs") / (s.name + "-" + timestamp_utc())
                                   : req.out;
  std::error_code ec;
  std::filesystem::create_directories(result.run_dir / "nodes", ec);
  if (ec)
    throw user_error("cannot create run directory " + result.run_dir.string() + ": " +
                     ec.message() + "; choose another --out");

  run_env env;
  env.run_dir = result.run_dir;
  env.scenario_path = req.scenario_path;
  env.seed = s.seed;
  env.run_duration = s.run_duration;
  env.quiet = req.quiet;
  env.write_events = req.write_events;
  env.events_bytes_max = req.events_bytes_max;
  env.interrupted = &run_interrupted;

  backend_ptr b = req.make_backend ? req.make_backend() : bk->make();
  caf::actor_system_config cfg;
  b->configure(cfg);
  auto rec = std::make_shared<run_record>();
  auto wall_start = std::chrono::steady_clock::now();
  json report_extra = json::object();
  std::string error_text;
  bool deployed = false;
  {
    caf::actor_system sys{cfg};
    try {
      auto dep = b->deploy(sys, s, topo, env);
      deployed = true;
      auto ctx = std::make_shared<run_context>();
      ctx->scenario = &s;
      ctx->topology = &topo;
      ctx->nodes = dep.nodes;
      ctx->fabric = dep.fabric;
      ctx->seed = s.seed;
      ctx->run_duration = s.run_duration;
      ctx->run_dir = result.run_dir;
      ctx->virtual_time = b->virtual_time();
      ctx->origin = sys.clock().now();
      std::vector<caf::actor> workloads, expectations;
      std::vector<std::string> expectation_names;
      // The runner's handle must be in the context before workloads are spawned: spawn it
      // first, lazily started by the start message below.
      duration sample_every = req.sample_every;
      if (s.run_duration / sample_every > 600)
        sample_every = s.run_duration / 600;
      auto runner = sys.spawn<caf::lazy_init>(
        [=, &workloads, &expectations, &expectation_names](runner_actor* self) {
          return runner_behavior(self, ctx, rec, workloads, expectations, expectation_names,
                                 sample_every);
        });
      ctx->runner = runner;
      for (const auto& w : s.workloads)
        workloads.push_back(reg.workload(w.kind)->spawn(sys, ctx, w));
      for (const auto& e : s.expectations) {
        expectations.push_back(reg.expectation(e.kind)->spawn(sys, ctx, e));
        expectation_names.push_back(e.name);
      }
      caf::anon_send(runner, start_atom::value);
      b->drive(sys, [&] { return rec->done.load(); });
      if (!rec->done) {
        error_text = "interrupted: the run was stopped by a signal before it ended";
        caf::anon_send_exit(runner, caf::exit_reason::user_shutdown);
      }
      for (auto& a : workloads)
        caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
      for (auto& a : expectations)
        caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    } catch (const user_error& e) {
      error_text = e.what();
    } catch (const std::exception& e) {
      error_text = std::string("internal error: ") + e.what();
    }
    b->teardown();
    report_extra = b->results();
  }
  const double wall_seconds =
    std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  // -- report -----------------------------------------------------------------
  report_input in;
  in.s = &s;
  in.topo = &topo;
  in.backend = s.backend.name;
  in.virtual_time = b->virtual_time();
  in.backend_results = report_extra;
  in.wall_seconds = wall_seconds;
  in.reproduce = reproduce_command(s, req);
  in.error = error_text;
  in.deployed = deployed;
  {
    std::lock_guard<std::mutex> guard{rec->mtx};
    in.sample_times_s = rec->sample_times_s;
    in.heights = rec->heights;
    in.events = rec->events;
    in.verdicts = rec->verdicts;
    in.final_status = rec->final_status;
    in.txs_submitted = rec->txs_submitted;
    in.txs_rejected = rec->txs_rejected;
    in.run_seconds = rec->run_seconds;
  }
  result.report = build_report(in);
  write_report(result.run_dir, result.report);
  const std::string verdict = result.report["verdict"];
  result.exit_code = verdict == "pass" ? exit_pass
                     : verdict == "fail" ? exit_fail
                     : verdict == "interrupted" ? 130
                                                : exit_bad_input;
  if (!deployed && !error_text.empty())
    throw user_error(error_text + " (report: " + (result.run_dir / "report.json").string() + ")");
  return result;
}

} // namespace troupe
