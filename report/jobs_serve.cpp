#include "report/jobs_serve.hpp"

#include <chrono>
#include <filesystem>
#include <thread>

#include <spdlog/spdlog.h>

#include "actors/errors.hpp"
#include "actors/units.hpp"
#include "jobs/http/http_server.hpp"
#include "jobs/pg_store.hpp"
#include "jobs/replay/replay.hpp"
#include "jobs/store.hpp"
#include "report/dashboard.hpp"
#include "report/jobs_dashboard.hpp"
#include "report/jobs_monitor.hpp"
#include "report/metrics.hpp"

namespace troupe::jobs {

namespace {

/// A server reachable from other machines must authenticate: refuse it without tokens
/// (before the database is created, so a refused start leaves nothing behind), or say
/// loudly that it is open.
void check_exposure(const serve_options& o) {
  if (is_loopback_host(o.host))
    return;
  bool tokens = false;
  if (store::is_postgres_url(o.db)) // its schema is created on first use anyway
    tokens = !store::open(o.db)->tokens().empty();
  else if (std::filesystem::exists(o.db))
    tokens = !store::open(o.db, store::open_mode::must_exist)->tokens().empty();
  if (tokens)
    return;
  if (!o.insecure)
    throw user_error("refusing to serve on " + o.host +
                     " without tokens, where anyone who "
                     "reaches it could change the campaign: create one with `troupe jobs "
                     "token create --scope worker --db " +
                     pg_store::redact(o.db) +
                     "`, or serve on 127.0.0.1, "
                     "or pass --insecure");
  spdlog::warn("troupe jobs: INSECURE: serving on {} without tokens (--insecure): anyone who "
               "can reach this address can claim, complete, create and retry jobs",
               o.host);
}

} // namespace

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

void serve(const serve_options& o) {
  check_exposure(o);
  auto db = store::open(o.db);
  // PostgreSQL: any number of native servers share a database (store.hpp); a replay-test
  // one has it to itself (its face keeps state of its own).
  if (o.replay_config.empty())
    db->join_shared();
  else
    db->lock_for_writing();
  engine eng(db.get(), {o.seed, SIZE_MAX}); // the server commits, after every round
  for (const auto& file : o.pipelines)
    eng.add_pipeline(load_pipeline_file(file));
  std::unique_ptr<replay_service> replay;
  const time_ms start = wall_now_ms();
  if (!o.replay_config.empty()) {
    auto slices = load_replay_config(o.replay_config);
    replay =
      std::make_unique<replay_service>(eng, replay_service::options{o.lease_ms, o.replay_config});
    eng.load(start);
    replay->load(slices, start);
  } else {
    eng.load(start);
  }
  http_server::options so;
  so.host = o.host;
  so.port = o.port;
  http_server server(eng, replay.get(), so);
  const int port = server.start();
  std::string face;
  if (replay)
    face = o.lease_ms > 0 ? " (replay-test protocol; a silent replay job times out after " +
                              format_seconds(std::chrono::milliseconds(o.lease_ms)) + ")"
                          : " (replay-test protocol; replay jobs never time out)";
  // From here on the engine is the server's engine actor's: reached by messages only.
  const auto [jobs_n, tokens_n] = server.call_engine([&db](engine& e) {
    return std::pair<size_t, size_t>{e.size(), db->tokens().size()};
  });
  spdlog::info("troupe jobs: serving {} job(s) from '{}' on http://{}:{}{}", jobs_n, db->path(),
               o.host, port, face);
  if (db->shared())
    spdlog::info("troupe jobs: sharing '{}' with any other `troupe jobs serve` on it; the one "
                 "that leads expires leases",
                 db->path());
  if (tokens_n > 0)
    spdlog::info("troupe jobs: {} token(s): requests that change state must carry one", tokens_n);
  if (o.on_ready)
    o.on_ready(port);
  // The views sample the engine by messages to the server's engine actor; they never change it.
  std::unique_ptr<jobs_monitor> monitor;
  std::unique_ptr<metrics::endpoint> prometheus;
  std::unique_ptr<dashboard> board;
  if (o.metrics_port >= 0 || o.dashboard_port >= 0) {
    monitor = std::make_unique<jobs_monitor>(
      server, replay.get(),
      jobs_monitor::options{db->path(), "http://" + o.host + ":" + std::to_string(port),
                            o.sample_ms});
  }
  if (o.metrics_port >= 0) {
    prometheus = std::make_unique<metrics::endpoint>(o.metrics_port);
    spdlog::info("troupe jobs: metrics on http://127.0.0.1:{}/metrics", prometheus->port());
    if (o.on_view)
      o.on_view("metrics", prometheus->port());
  }
  if (o.dashboard_port >= 0) {
    auto* m = monitor.get();
    board = std::make_unique<dashboard>(
      dashboard::views{[m] { return jobs_dashboard_page(m->snapshot()); },
                       [m] { return m->snapshot().dump(); }, "jobs-dashboard", "--serve"},
      o.dashboard_port);
    spdlog::info("troupe jobs: dashboard on http://127.0.0.1:{}/", board->port());
    if (o.on_view)
      o.on_view("dashboard", board->port());
  }
  // Last, once nothing more can throw: the engine then calls into the monitor until the
  // observer is removed after the server stops.
  if (monitor) {
    auto* m = monitor.get();
    server.call_engine(
      [m](engine& e) { e.set_observer([m](const job& j, time_ms now) { m->observe(j, now); }); });
  }

  // Bounded by run_ms_max when given; otherwise until should_stop (a signal) says so.
  while (!(o.should_stop && o.should_stop())) {
    if (o.run_ms_max > 0 && wall_now_ms() - start > o.run_ms_max)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (monitor)
    monitor->stop();
  server.stop();
  // The monitor goes first; the actor outlives stop(), so this is still a message to it.
  server.call_engine([](engine& e) { e.set_observer(nullptr); });
  spdlog::info("troupe jobs: stopped; every change is committed to '{}'", db->path());
}

} // namespace troupe::jobs
