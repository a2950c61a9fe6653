#include "jobs/service.hpp"

#include "actors/errors.hpp"
#include "actors/url.hpp"
#include "jobs/bounded_json.hpp"
#include "jobs/http/http_server.hpp"
#include "jobs/replay/replay.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

namespace troupe::jobs {

nlohmann::json database_status(const std::string& path) {
  auto db = store::open(path, store::open_mode::must_exist);
  engine eng(db.get());
  replay_service svc(eng, {});
  eng.load(0);
  nlohmann::json out;
  out["database"] = db->path();
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
  db->join_shared(); // PostgreSQL: beside the servers sharing it, in one round
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
  const auto u = parse_http_url(url, "--url", {true, true, false});
  httplib::Client c(u.host, u.port);
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

void retry_over_http(const std::string& url, job_id id, const std::string& token) {
  auto c = client_for(url);
  if (!token.empty())
    c.set_bearer_token_auth(token);
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

std::string create_token_in_database(const std::string& db, const std::string& scope) {
  const auto sc = token_scope_from_string(scope);
  if (!sc)
    throw user_error("--scope must be worker (claim, heartbeat, complete, verify, fail) or "
                     "admin (also create and retry jobs), not '" +
                     excerpt(scope) + "'");
  auto s = store::open(db);
  return create_token(*s, *sc, wall_now_ms());
}

} // namespace troupe::jobs
