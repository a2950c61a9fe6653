#pragma once
// The sync service over HTTP (actors/sync_actor behind services/http_service's limits):
//
//   POST /v1/signal    {"state"}                          -> {"seq"}
//   GET  /v1/count?state=S                                -> {"count"}
//   POST /v1/barrier   {"state", "target", "wait_ms"}     -> {"count", "released"}
//   POST /v1/publish   {"topic", "payload": any JSON}     -> {"seq"}
//   POST /v1/subscribe {"topic", "from", "wait_ms"}       -> {"from", "payloads": [...]}
//   GET  /healthz                                         -> {"ok": true}
//
// A barrier or a subscription is a long poll: held until it is released or wait_ms passes
// (at most wait_ms_max), then the client asks again. cpp-httplib holds a thread per request
// in progress, so at most threads_max - threads_reserved requests wait at once; past that a
// wait answers at once ("released": false, "retry": true) and closes its connection, so a
// signal that would release everyone always finds a thread.

#include <atomic>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/sync_endpoint.hpp"
#include "services/http_service.hpp"

namespace troupe::services {

struct sync_http_options {
  http_service_options http = [] {
    http_service_options o;
    o.threads_max = 1100; // a barrier of 1,000 participants, each waiting on its own thread
    o.body_bytes_max = 128u << 10;
    return o;
  }();
  int wait_ms_max = 30'000;
  size_t threads_reserved = 16;
};

class sync_http_server final : public sync_endpoint {
public:
  sync_http_server(caf::actor_system& sys, caf::actor sync, sync_http_options o = {});
  ~sync_http_server() override;

  std::string url() const override { return http_.url(); }
  int port() const noexcept { return http_.port(); }
  void stop() { http_.stop(); }

private:
  void routes();

  caf::actor_system& sys_;
  caf::actor sync_;
  sync_http_options opts_;
  http_service http_;
  std::atomic<size_t> waiting_{0};
};

/// The registry's factory (actors/sync_endpoint.hpp): a server on 127.0.0.1, any free port.
std::unique_ptr<sync_endpoint> make_sync_endpoint(caf::actor_system& sys, caf::actor sync);

} // namespace troupe::services
