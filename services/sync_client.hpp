#pragma once
// A client of the sync service's HTTP face (services/sync_http): what `troupe sync` and the
// benchmarks use. One keep-alive connection; every call is bounded in time. Errors are one
// sentence naming the URL and the fix (user_error).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace httplib {
class Client;
}

namespace troupe::services {

class sync_client {
public:
  /// `url`: "http://127.0.0.1:PORT"; empty: $TROUPE_SYNC_URL (set by a live run).
  explicit sync_client(std::string url);
  ~sync_client();

  const std::string& url() const noexcept { return url_; }

  uint64_t signal_entry(const std::string& state);
  uint64_t count(const std::string& state);
  /// Waits until count(state) >= target or `timeout` passes (then user_error); returns the
  /// count seen.
  uint64_t barrier(const std::string& state, uint64_t target, std::chrono::milliseconds timeout);
  /// signal_entry then barrier; returns this entry's seq.
  uint64_t signal_and_wait(const std::string& state, uint64_t target,
                           std::chrono::milliseconds timeout);
  uint64_t publish(const std::string& topic, const nlohmann::json& payload);
  /// The payloads from seq `from` on (at least one), or none when `timeout` passed first.
  std::vector<nlohmann::json> subscribe(const std::string& topic, uint64_t from,
                                        std::chrono::milliseconds timeout);

private:
  nlohmann::json post(const std::string& path, const nlohmann::json& body, int wait_ms);

  std::string url_;
  std::unique_ptr<httplib::Client> http_;
};

} // namespace troupe::services
