#pragma once
// The sync service's face for processes outside the run (node-side scripts, `troupe sync`):
// live runs serve it over HTTP on 127.0.0.1 (services/sync_http, installed by apps/catalog
// through the registry), so the runner in actors/ starts it without knowing HTTP.

#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace troupe {

class sync_endpoint {
public:
  virtual ~sync_endpoint() = default;
  /// "http://127.0.0.1:PORT": what TROUPE_SYNC_URL is set to for node-side commands.
  virtual std::string url() const = 0;
};

/// Serves `sync` for a live run; throws user_error when it cannot listen.
using sync_endpoint_factory =
  std::function<std::unique_ptr<sync_endpoint>(caf::actor_system& sys, caf::actor sync)>;

/// The environment variable a live run sets to its sync service's URL (node-side commands and
/// `troupe sync` read it).
inline constexpr const char* sync_url_env = "TROUPE_SYNC_URL";

} // namespace troupe
