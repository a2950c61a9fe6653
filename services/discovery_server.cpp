#include "services/discovery_server.hpp"

#include <chrono>
#include <fstream>
#include <sstream>

#include <httplib.h>

#include "actors/errors.hpp"
#include "actors/units.hpp"
#include "jobs/bounded_json.hpp"
#include "services/ed25519.hpp"

namespace troupe::services {

namespace {

using nlohmann::json;

constexpr size_t id_bytes_max = 128;
constexpr size_t entries_max = 32; ///< endpoints, labels
constexpr size_t value_bytes_max = 512;

/// A flat object of strings with bounded size, or why not.
std::string check_map(const json& v, const char* what) {
  if (!v.is_object())
    return std::string("\"") + what + "\" must be an object of strings";
  if (v.size() > entries_max)
    return std::string("\"") + what + "\" has more than " + std::to_string(entries_max) +
           " entries";
  for (auto it = v.begin(); it != v.end(); ++it)
    if (!it.value().is_string() || it.key().size() > id_bytes_max ||
        it.value().get<std::string>().size() > value_bytes_max)
      return std::string("\"") + what + "\"." + jobs::excerpt(it.key()) +
             " must be a string of at most " + std::to_string(value_bytes_max) + " bytes";
  return {};
}

/// The node a submission describes, or why it is malformed.
std::string read_node(const json& b, discovered_node& n, int64_t& time_ms) {
  if (!b.contains("id") || !b["id"].is_string() || b["id"].get<std::string>().empty() ||
      b["id"].get<std::string>().size() > id_bytes_max)
    return "\"id\" must be a non-empty string of at most " + std::to_string(id_bytes_max) +
           " bytes";
  n.id = b["id"].get<std::string>();
  n.program = b.value("program", std::string{});
  if (n.program.size() > id_bytes_max)
    return "\"program\" is too long";
  n.endpoints = b.value("endpoints", json::object());
  n.labels = b.value("labels", json::object());
  for (auto [v, what] : {std::pair{&n.endpoints, "endpoints"}, std::pair{&n.labels, "labels"}})
    if (auto why = check_map(*v, what); !why.empty())
      return why;
  if (!b.contains("time_ms") || !b["time_ms"].is_number_integer())
    return "\"time_ms\" (the announcer's clock, ms since the epoch) is required";
  time_ms = b["time_ms"].get<int64_t>();
  return {};
}

} // namespace

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::set<std::string> read_whitelist(const std::filesystem::path& file) {
  std::ifstream in{file};
  if (!in)
    throw user_error("cannot read whitelist " + file.string() +
                     "; pass --whitelist FILE with the public keys allowed to announce");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::set<std::string> keys;
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    std::string why;
    auto v = jobs::parse_json_bounded(text, why);
    if (!v || !v->is_object() || !v->contains("whitelist") || !(*v)["whitelist"].is_array())
      throw user_error("whitelist " + file.string() +
                       " must be {\"whitelist\": [\"<base64 public key>\", ...]} or one key a "
                       "line");
    for (const auto& k : (*v)["whitelist"])
      if (k.is_string())
        keys.insert(k.get<std::string>());
  } else {
    std::istringstream lines{text};
    for (std::string l; std::getline(lines, l);) {
      const auto b = l.find_first_not_of(" \t\r");
      if (b == std::string::npos)
        continue;
      l = l.substr(b, l.find_last_not_of(" \t\r") - b + 1);
      if (l[0] != '#')
        keys.insert(l);
    }
  }
  for (const auto& k : keys)
    if (base64_decode(k).size() != 32)
      throw user_error("whitelist " + file.string() + ": \"" + jobs::excerpt(k) +
                       "\" is not an Ed25519 public key (base64 of 32 bytes); `troupe discovery "
                       "keygen` prints one");
  return keys;
}

discovery_server::discovery_server(discovery_options o)
  : opts_(std::move(o))
  , whitelist_(read_whitelist(opts_.whitelist))
  , store_(opts_.db)
  , http_(opts_.http, "--port") {
  routes();
}

void discovery_server::routes() {
  auto& s = http_.server();
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    json_answer(res, {{"ok", true}});
  });
  s.Post("/v1/submit", [this](const httplib::Request& req, httplib::Response& res) {
    const auto key = req.get_header_value(key_header);
    const auto sig = req.get_header_value(signature_header);
    if (key.empty() || sig.empty())
      return json_error(res, 401,
                        std::string("unsigned submission: send ") + key_header + " and " +
                          signature_header + " (`troupe discovery announce` signs)");
    if (!ed25519_verify(key, req.body, sig))
      return json_error(res, 401, "the signature does not verify against the key sent");
    if (!whitelist_.count(key))
      return json_error(res, 403, "key " + jobs::excerpt(key) + " is not on the whitelist");
    auto body = json_body(req, res);
    if (!body)
      return;
    discovered_node n;
    int64_t t = 0;
    if (auto why = read_node(*body, n, t); !why.empty())
      return json_error(res, 400, why);
    const int64_t now = wall_ms();
    if (t < now - opts_.max_skew_ms || t > now + opts_.max_skew_ms)
      return json_error(res, 400,
                        "time_ms is more than " + std::to_string(opts_.max_skew_ms) +
                          " ms from the registry's clock (a replayed or stale "
                          "submission, or a wrong clock)");
    n.key = key;
    if (auto why = store_.submit(n, now); !why.empty())
      return json_error(res, why.find("another key") != std::string::npos ? 403 : 503, why);
    json_answer(res, {{"ok", true}, {"id", n.id}});
  });
  s.Get("/v1/online", [this](const httplib::Request& req, httplib::Response& res) {
    int64_t window = opts_.default_window_ms;
    if (req.has_param("window")) {
      auto d = parse_duration(req.get_param_value("window"));
      if (!d || d->count() <= 0)
        return json_error(res, 400, "window must be a duration such as 30s or 10m");
      window = std::chrono::duration_cast<std::chrono::milliseconds>(*d).count();
    }
    const int64_t now = wall_ms();
    json nodes = json::array();
    for (const auto& n : store_.seen_since(now - window))
      nodes.push_back(n.to_json());
    json_answer(res, {{"nodes", nodes}, {"window_ms", window}, {"now_ms", now}});
  });
}

} // namespace troupe::services
