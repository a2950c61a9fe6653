#pragma once
// The discovery registry's clients: a signed submission (`troupe discovery announce`) and
// the online list (`attach`, people). Bounded in time; errors are one sentence (user_error).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "services/discovery_store.hpp"

namespace troupe::services {

struct announcement {
  std::string id;
  std::string program;
  nlohmann::json endpoints = nlohmann::json::object();
  nlohmann::json labels = nlohmann::json::object();
};

/// Signs and submits `a` to the registry at `url` with `secret_b64`; throws user_error with
/// the registry's reason when it refuses (401, 403, 400).
void announce_once(const std::string& url, const std::string& secret_b64, const announcement& a);

/// GET /v1/online?window=...; `window` empty: the registry's default.
std::vector<discovered_node> fetch_online(const std::string& url, const std::string& window = {});

} // namespace troupe::services
