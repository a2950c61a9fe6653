#pragma once
// The discovery registry (DESIGN.md: "discovery registry"; the seed's uptime backend): nodes,
// or a sidecar beside them, announce themselves; `attach` and people list who is online.
//
//   POST /v1/submit   body {"id", "program", "endpoints": {name: addr}, "labels": {k: v},
//                     "time_ms"}, headers X-Troupe-Key (base64 Ed25519 public key) and
//                     X-Troupe-Signature (base64 signature of the body's bytes)
//                     -> 200 {"ok": true, "id"}
//                        401 unsigned, or a signature that does not verify
//                        403 a key that is not on the whitelist (or an id of another key)
//                        400 a malformed body, or time_ms more than max_skew_ms off
//   GET  /v1/online[?window=10m]  -> {"nodes": [...], "window_ms", "now_ms"}: the nodes
//                     seen within the window (default 10m), in id order
//   GET  /healthz
//
// State lives in SQLite (services/discovery_store), so a restart keeps it. The whitelist is
// a file: {"whitelist": ["<base64 key>", ...]} (the seed's conf.json) or one key per line.

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>

#include "services/discovery_store.hpp"
#include "services/http_service.hpp"

namespace troupe::services {

struct discovery_options {
  http_service_options http = [] {
    http_service_options o;
    o.port = 7300;
    o.body_bytes_max = 64u << 10;
    return o;
  }();
  std::filesystem::path whitelist; ///< required
  std::filesystem::path db = "troupe-registry.db";
  int64_t max_skew_ms = 5 * 60'000; ///< a submission's time_ms vs the registry's
  int64_t default_window_ms = 10 * 60'000;
};

/// Reads a whitelist file; throws user_error naming the file and the forms it may take.
std::set<std::string> read_whitelist(const std::filesystem::path& file);

class discovery_server {
public:
  explicit discovery_server(discovery_options o);
  int start() { return http_.start(); }
  void stop() { http_.stop(); }
  std::string url() const { return http_.url(); }
  int port() const noexcept { return http_.port(); }
  discovery_store& store() { return store_; }

private:
  void routes();

  discovery_options opts_;
  std::set<std::string> whitelist_;
  discovery_store store_;
  http_service http_;
};

/// The headers of a signed submission.
inline constexpr const char* key_header = "X-Troupe-Key";
inline constexpr const char* signature_header = "X-Troupe-Signature";

/// Wall-clock milliseconds since the epoch (the registry's "now").
int64_t wall_ms();

} // namespace troupe::services
