#include "services/discovery_client.hpp"

#include <memory>

#include <httplib.h>

#include "actors/errors.hpp"
#include "actors/url.hpp"
#include "jobs/bounded_json.hpp"
#include "services/discovery_server.hpp"
#include "services/ed25519.hpp"

namespace troupe::services {

namespace {

using nlohmann::json;

/// A bounded client of the registry at `url` (made in place: never moved).
std::unique_ptr<httplib::Client> client_of(const std::string& url) {
  auto u = parse_http_url(url, "registry URL", url_rules{true, true, false});
  auto c = std::make_unique<httplib::Client>(u.host, u.port);
  c->set_connection_timeout(5, 0);
  c->set_read_timeout(10, 0);
  c->set_write_timeout(10, 0);
  return c;
}

std::string reason(const httplib::Result& res) {
  std::string why;
  auto j = jobs::parse_json_bounded(res->body, why);
  if (j && j->is_object() && j->contains("error") && (*j)["error"].is_string())
    return (*j)["error"].get<std::string>();
  return jobs::excerpt(res->body);
}

} // namespace

void announce_once(const std::string& url, const std::string& secret_b64, const announcement& a) {
  const std::string body = json{
    {"id", a.id},
    {"program", a.program},
    {"endpoints", a.endpoints},
    {"labels", a.labels},
    {"time_ms", wall_ms()}}.dump();
  httplib::Headers h{{key_header, ed25519_public_of(secret_b64)},
                     {signature_header, ed25519_sign(secret_b64, body)}};
  // The reason is built while the client and its answer live; the error is thrown after
  // both are gone.
  std::string failure;
  {
    auto c = client_of(url);
    auto res = c->Post("/v1/submit", h, body, "application/json");
    if (!res)
      failure = "registry " + url + " did not answer (" + httplib::to_string(res.error()) +
                "); check that `troupe discovery serve` runs there";
    else if (res->status != 200)
      failure = "registry " + url + " refused the submission (HTTP " + std::to_string(res->status) +
                "): " + reason(res);
  }
  if (!failure.empty())
    throw user_error(failure);
}

std::vector<discovered_node> fetch_online(const std::string& url, const std::string& window) {
  auto c = client_of(url);
  const std::string path =
    "/v1/online" + (window.empty() ? "" : "?window=" + httplib::detail::encode_query_param(window));
  auto res = c->Get(path.c_str());
  if (!res)
    throw user_error("registry " + url + " did not answer (" + httplib::to_string(res.error()) +
                     "); check the discovery URL");
  if (res->status != 200)
    throw user_error("registry " + url + " refused " + path + ": " + reason(res));
  std::string why;
  auto j = jobs::parse_json_bounded(res->body, why);
  if (!j || !j->is_object() || !j->contains("nodes") || !(*j)["nodes"].is_array())
    throw user_error("registry " + url + " answered no node list; is it a troupe registry?");
  std::vector<discovered_node> out;
  for (const auto& n : (*j)["nodes"]) {
    if (!n.is_object() || !n.contains("id") || !n["id"].is_string())
      continue;
    discovered_node d;
    d.id = n["id"].get<std::string>();
    d.program = n.value("program", std::string{});
    d.endpoints = n.value("endpoints", json::object());
    d.labels = n.value("labels", json::object());
    d.key = n.value("key", std::string{});
    d.first_seen_ms = n.value("first_seen_ms", int64_t{0});
    d.last_seen_ms = n.value("last_seen_ms", int64_t{0});
    d.submissions = n.value("submissions", uint64_t{0});
    out.push_back(std::move(d));
  }
  return out;
}

} // namespace troupe::services
