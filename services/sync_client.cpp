#include "services/sync_client.hpp"

#include <cstdlib>
#include <thread>

#include <httplib.h>

#include "actors/errors.hpp"
#include "actors/sync_endpoint.hpp"
#include "actors/url.hpp"
#include "jobs/bounded_json.hpp"

namespace troupe::services {

namespace {

using nlohmann::json;
using clock = std::chrono::steady_clock;

/// One long poll: short enough that a dead server is noticed, long enough to be cheap.
constexpr int poll_ms = 10'000;

std::string resolve(std::string url) {
  if (url.empty())
    if (const char* e = std::getenv(sync_url_env); e && *e)
      url = e;
  if (url.empty())
    throw user_error(std::string("no sync service URL: pass --url http://127.0.0.1:PORT or set ") +
                     sync_url_env + " (a live run sets it for node-side commands)");
  return url;
}

int remaining_ms(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  return static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(left.count(), poll_ms)));
}

} // namespace

sync_client::sync_client(std::string url)
  : url_(resolve(std::move(url))) {
  auto u = parse_http_url(url_, "sync service URL", url_rules{true, true, false});
  http_ = std::make_unique<httplib::Client>(u.host, u.port);
  // 15 s to connect: the server listens with cpp-httplib's backlog of 5, and when many
  // participants connect at once on a loaded machine the kernel drops SYNs past it; Linux
  // sends them again after 1, 3 and 7 s, which a 5 s limit cut short. A refused connection
  // (nothing listening) still fails at once.
  http_->set_connection_timeout(15, 0);
  http_->set_keep_alive(true);
  // Without it, each POST on the kept-alive connection waits for delayed ACKs: ~90 ms a call.
  http_->set_tcp_nodelay(true);
}

sync_client::~sync_client() = default;

json sync_client::post(const std::string& path, const json& body, int wait_ms) {
  // The answer may be held wait_ms; a little more for the network.
  const int read_ms = wait_ms + 5'000;
  http_->set_read_timeout(read_ms / 1000, (read_ms % 1000) * 1000);
  auto res = http_->Post(path.c_str(), body.dump(), "application/json");
  if (!res)
    throw user_error("sync service " + url_ + " did not answer " + path + " (" +
                     httplib::to_string(res.error()) +
                     "); check that the run (or `troupe sync serve`) is up and the URL is right");
  std::string why;
  auto j = jobs::parse_json_bounded(res->body, why);
  if (res->status != 200) {
    const std::string msg = j && j->is_object() && j->contains("error") && (*j)["error"].is_string()
                              ? (*j)["error"].get<std::string>()
                              : jobs::excerpt(res->body);
    throw user_error("sync service " + url_ + path + " refused: " + msg);
  }
  if (!j || !j->is_object())
    throw user_error("sync service " + url_ + path + " answered no JSON object (" + why +
                     "); is the URL a troupe sync service?");
  return *j;
}

uint64_t sync_client::signal_entry(const std::string& state) {
  return post("/v1/signal", {{"state", state}}, 0).value("seq", uint64_t{0});
}

uint64_t sync_client::count(const std::string& state) {
  http_->set_read_timeout(5, 0);
  auto res = http_->Get(("/v1/count?state=" + httplib::detail::encode_query_param(state)).c_str());
  if (!res || res->status != 200)
    throw user_error("sync service " + url_ + " did not answer /v1/count; check the URL");
  std::string why;
  auto j = jobs::parse_json_bounded(res->body, why);
  return j && j->is_object() ? j->value("count", uint64_t{0}) : 0;
}

uint64_t sync_client::barrier(const std::string& state, uint64_t target,
                              std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  auto backoff = std::chrono::milliseconds(5);
  for (;;) {
    const int wait = remaining_ms(deadline);
    auto j = post("/v1/barrier", {{"state", state}, {"target", target}, {"wait_ms", wait}}, wait);
    const uint64_t n = j.value("count", uint64_t{0});
    if (j.value("released", false))
      return n;
    if (clock::now() >= deadline)
      throw user_error("barrier \"" + state + "\" was not reached in time: " + std::to_string(n) +
                       " of " + std::to_string(target) +
                       " entries; raise --timeout or check the other participants");
    if (j.value("retry", false)) {
      // The server had no thread to hold this wait: back off, then ask again.
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
    }
  }
}

uint64_t sync_client::signal_and_wait(const std::string& state, uint64_t target,
                                      std::chrono::milliseconds timeout) {
  const uint64_t seq = signal_entry(state);
  barrier(state, target, timeout);
  return seq;
}

uint64_t sync_client::publish(const std::string& topic, const json& payload) {
  return post("/v1/publish", {{"topic", topic}, {"payload", payload}}, 0).value("seq", uint64_t{0});
}

std::vector<json> sync_client::subscribe(const std::string& topic, uint64_t from,
                                         std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  for (;;) {
    const int wait = remaining_ms(deadline);
    auto j = post("/v1/subscribe", {{"topic", topic}, {"from", from}, {"wait_ms", wait}}, wait);
    std::vector<json> out;
    if (j.contains("payloads") && j["payloads"].is_array())
      for (auto& p : j["payloads"])
        out.push_back(p);
    if (!out.empty() || clock::now() >= deadline)
      return out;
    if (j.value("retry", false))
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

} // namespace troupe::services
