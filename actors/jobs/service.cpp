#include "actors/jobs/service.hpp"

#include "actors/dashboard.hpp"
#include "actors/errors.hpp"
#include "actors/jobs/http_server.hpp"
#include "actors/jobs/jobs_dashboard.hpp"
#include "actors/jobs/jobs_monitor.hpp"
#include "actors/jobs/replay.hpp"
#include "actors/metrics.hpp"
#include "actors/units.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

namespace troupe::jobs {

std::pair<std::string, int> parse_url(const std::string& url) {
  std::string rest = url;
  if (rest.rfind("http://", 0) == 0)
    rest = rest.substr(7);
  else if (rest.find("://") != std::string::npos)
    throw user_error("URL '" + url + "' is not http://HOST:PORT: troupe jobs speaks plain HTTP");
  while (!rest.empty() && rest.back() == '/')
    rest.pop_back();
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw user_error("URL '" + url + "' has no port: write it as http://HOST:PORT");
  try {
    const int port = std::stoi(rest.substr(colon + 1));
    if (port < 1 || port > 65535)
      throw std::out_of_range("port");
    return {rest.substr(0, colon), port};
  } catch (const std::exception&) {
    throw user_error("URL '" + url + "' has a bad port: write it as http://HOST:PORT");
  }
}

void serve(const serve_options& o) {
  auto db = store::open(o.db);
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
  spdlog::info("troupe jobs: serving {} job(s) from '{}' on http://{}:{}{}", eng.size(), o.db,
               o.host, port, face);
  if (o.on_ready)
    o.on_ready(port);
  // The views sample the engine under the server's lock; they never change it.
  std::unique_ptr<jobs_monitor> monitor;
  std::unique_ptr<metrics::endpoint> prometheus;
  std::unique_ptr<dashboard> board;
  if (o.metrics_port >= 0 || o.dashboard_port >= 0) {
    monitor = std::make_unique<jobs_monitor>(
      server, replay.get(),
      jobs_monitor::options{o.db, "http://" + o.host + ":" + std::to_string(port), o.sample_ms});
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
    server.with_engine(
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
  eng.set_observer(nullptr); // the monitor goes first; nothing changes the engine any more
  spdlog::info("troupe jobs: stopped; every change is committed to '{}'", o.db);
}

nlohmann::json database_status(const std::string& path) {
  auto db = store::open(path, store::open_mode::must_exist);
  engine eng(db.get());
  replay_service svc(eng, {});
  eng.load(0);
  nlohmann::json out;
  out["database"] = path;
  out["jobs"] = eng.summary();
  if (const auto n = eng.list(std::nullopt, "replay", SIZE_MAX).size(); n > 0) {
    svc.load(std::vector<replay_slice>(n), 0);
    out["replay"] = nlohmann::json::parse(svc.summary().dump());
    out["replay_text"] = svc.summary_text();
  }
  return out;
}

std::string format_status(const nlohmann::json& s) {
  std::string out;
  if (s.contains("database"))
    out += "database " + s["database"].get<std::string>() + "\n";
  const auto& j = s.contains("jobs") ? s["jobs"] : s;
  out += "jobs: " + std::to_string(j.value("total", 0)) + "\n";
  for (const auto& [k, v] : j["by_status"].items())
    if (v.get<int64_t>() > 0)
      out += "  " + k + ": " + std::to_string(v.get<int64_t>()) + "\n";
  for (const auto& [type, counts] : j["by_type"].items()) {
    out += "  type " + type + ":";
    for (const auto& [k, v] : counts.items())
      out += " " + k + "=" + std::to_string(v.get<int64_t>());
    out += "\n";
  }
  if (!j["failed"].empty()) {
    out += "failure queue (retry with `troupe jobs retry ID`):\n";
    for (const auto& f : j["failed"])
      out += "  job " + std::to_string(f["id"].get<int64_t>()) + " (" +
             f["type"].get<std::string>() + ")\n";
  }
  if (s.contains("replay_text"))
    out += s["replay_text"].get<std::string>();
  return out;
}

void retry_in_database(const std::string& path, job_id id) {
  auto db = store::open(path, store::open_mode::must_exist);
  engine eng(db.get());
  replay_service svc(eng, {});
  eng.load(0);
  const job* j = eng.find(id);
  if (!j)
    throw user_error("job " + std::to_string(id) + " is not in '" + path +
                     "': list failed jobs with `troupe jobs status --db " + path + "`");
  outcome o;
  const time_ms now = wall_now_ms();
  if (eng.policy(j->type).external) {
    svc.load(std::vector<replay_slice>(eng.list(std::nullopt, "replay", SIZE_MAX).size()), 0);
    o = svc.retry(id, now);
  } else {
    o = eng.retry(id, now);
  }
  if (o != outcome::ok)
    throw user_error("job " + std::to_string(id) + " is not failed (status " +
                     std::string(to_string(j->status)) + "): only failed jobs can be retried");
  eng.commit();
}

namespace {
httplib::Client client_for(const std::string& url) {
  auto [host, port] = parse_url(url);
  httplib::Client c(host, port);
  c.set_connection_timeout(5);
  c.set_read_timeout(30);
  return c;
}
} // namespace

nlohmann::json status_over_http(const std::string& url) {
  auto c = client_for(url);
  auto r = c.Get("/v1/summary");
  if (!r)
    throw user_error("no troupe jobs server answers at " + url +
                     ": start one with `troupe jobs serve` or pass --db to read the file");
  if (r->status != 200)
    throw user_error("the server at " + url + " answered " + std::to_string(r->status) +
                     " to /v1/summary: is it a troupe jobs server?");
  return nlohmann::json::parse(r->body);
}

void retry_over_http(const std::string& url, job_id id) {
  auto c = client_for(url);
  auto r = c.Post("/v1/jobs/" + std::to_string(id) + "/retry", "{}", "application/json");
  if (!r)
    throw user_error("no troupe jobs server answers at " + url +
                     ": start one with `troupe jobs serve` or pass --db to edit the file");
  if (r->status != 200) {
    auto body = nlohmann::json::parse(r->body, nullptr, false);
    throw user_error("retry of job " + std::to_string(id) +
                     " refused: " + (body.is_object() ? body.value("error", r->body) : r->body));
  }
}

} // namespace troupe::jobs
