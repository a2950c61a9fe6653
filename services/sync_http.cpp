#include "services/sync_http.hpp"

#include <chrono>

#include <caf/all.hpp>
#include <httplib.h>

#include "actors/sync_actor.hpp"

namespace troupe::services {

namespace {

using nlohmann::json;

/// Asks the sync actor and waits for its answer (the request's own thread blocks; nothing
/// else does). `wait_ms` is how long the actor may hold the answer.
template <class... Ts>
sync_answer ask(caf::actor_system& sys, const caf::actor& sync, int wait_ms, Ts&&... xs) {
  caf::scoped_actor self{sys};
  sync_answer out;
  self->request(sync, std::chrono::milliseconds(wait_ms + 10'000), std::forward<Ts>(xs)...)
    .receive([&](const sync_answer& a) { out = a; },
             [&](const caf::error& e) { out.error = "sync service: " + to_string(e); });
  return out;
}

/// A string field, or nullopt after answering 400.
std::optional<std::string> text(const json& body, const char* key, httplib::Response& res) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_string()) {
    json_error(res, 400, std::string("\"") + key + "\" must be a string");
    return std::nullopt;
  }
  return it->get<std::string>();
}

std::optional<uint64_t> count_field(const json& body, const char* key, uint64_t dflt,
                                    httplib::Response& res) {
  auto it = body.find(key);
  if (it == body.end())
    return dflt;
  if (!it->is_number_unsigned()) {
    json_error(res, 400, std::string("\"") + key + "\" must be a non-negative integer");
    return std::nullopt;
  }
  return it->get<uint64_t>();
}

/// Counts a waiting request for as long as it lives.
struct waiting_guard {
  std::atomic<size_t>& n;
  explicit waiting_guard(std::atomic<size_t>& c)
    : n(c) {
    ++n;
  }
  ~waiting_guard() { --n; }
};

} // namespace

sync_http_server::sync_http_server(caf::actor_system& sys, caf::actor sync, sync_http_options o)
  : sys_(sys)
  , sync_(std::move(sync))
  , opts_(std::move(o))
  , http_(opts_.http, "sync service port") {
  routes();
  http_.start();
}

sync_http_server::~sync_http_server() { http_.stop(); }

void sync_http_server::routes() {
  auto& s = http_.server();
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    json_answer(res, {{"ok", true}});
  });
  s.Post("/v1/signal", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res);
    if (!body)
      return;
    auto state = text(*body, "state", res);
    if (!state)
      return;
    auto a = ask(sys_, sync_, 0, sync_signal_atom::value, *state);
    if (!a.error.empty())
      return json_error(res, 400, a.error);
    json_answer(res, {{"seq", a.value}});
  });
  s.Get("/v1/count", [this](const httplib::Request& req, httplib::Response& res) {
    if (!req.has_param("state"))
      return json_error(res, 400, "give the state: /v1/count?state=NAME");
    auto a = ask(sys_, sync_, 0, sync_count_atom::value, req.get_param_value("state"));
    json_answer(res, {{"count", a.value}});
  });
  // Long polls: wait_ms bounded by wait_ms_max, and by the threads left (see the header).
  auto wait_of = [this](const json& body, httplib::Response& res) -> std::optional<int> {
    auto w = count_field(body, "wait_ms", static_cast<uint64_t>(opts_.wait_ms_max), res);
    if (!w)
      return std::nullopt;
    const bool room = waiting_.load() + opts_.threads_reserved < opts_.http.threads_max;
    if (!room) {
      res.set_header("Connection", "close");
      return 0;
    }
    return static_cast<int>(std::min<uint64_t>(*w, static_cast<uint64_t>(opts_.wait_ms_max)));
  };
  s.Post("/v1/barrier", [this, wait_of](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res);
    if (!body)
      return;
    auto state = text(*body, "state", res);
    auto target = state ? count_field(*body, "target", 0, res) : std::nullopt;
    auto wait = target ? wait_of(*body, res) : std::nullopt;
    if (!wait)
      return;
    waiting_guard g{waiting_};
    auto a = ask(sys_, sync_, *wait, sync_barrier_atom::value, *state, *target,
                 static_cast<int64_t>(*wait) * 1'000'000);
    if (!a.error.empty())
      return json_error(res, 400, a.error);
    const bool released = a.value >= *target;
    json j{{"count", a.value}, {"released", released}};
    if (!released && *wait == 0)
      j["retry"] = true;
    json_answer(res, j);
  });
  s.Post("/v1/publish", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res);
    if (!body)
      return;
    auto topic = text(*body, "topic", res);
    if (!topic)
      return;
    auto it = body->find("payload");
    if (it == body->end())
      return json_error(res, 400, "\"payload\" is required (any JSON value)");
    auto a = ask(sys_, sync_, 0, sync_publish_atom::value, *topic, it->dump());
    if (!a.error.empty())
      return json_error(res, 400, a.error);
    json_answer(res, {{"seq", a.value}});
  });
  s.Post("/v1/subscribe", [this, wait_of](const httplib::Request& req, httplib::Response& res) {
    auto body = json_body(req, res);
    if (!body)
      return;
    auto topic = text(*body, "topic", res);
    auto from = topic ? count_field(*body, "from", 1, res) : std::nullopt;
    auto wait = from ? wait_of(*body, res) : std::nullopt;
    if (!wait)
      return;
    waiting_guard g{waiting_};
    auto a = ask(sys_, sync_, *wait, sync_subscribe_atom::value, *topic, *from,
                 static_cast<int64_t>(*wait) * 1'000'000);
    if (!a.error.empty())
      return json_error(res, 400, a.error);
    json payloads = json::array();
    for (const auto& p : a.payloads)
      payloads.push_back(json::parse(p)); // stored by publish as valid JSON text
    json_answer(res, {{"from", std::max<uint64_t>(*from, 1)}, {"payloads", payloads}});
  });
}

std::unique_ptr<sync_endpoint> make_sync_endpoint(caf::actor_system& sys, caf::actor sync) {
  return std::make_unique<sync_http_server>(sys, std::move(sync));
}

} // namespace troupe::services
