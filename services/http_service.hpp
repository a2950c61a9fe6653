#pragma once
// services/: the live HTTP services troupe serves beside a run or on its own — the run's sync
// service (sync_http) and the discovery registry (discovery_*). They are live-only (threads,
// sockets, the wall clock), so they live outside actors/ (which the simulator runs) and
// outside backends/ (they serve a run or a network whatever backend it uses); like jobs/http
// they may include actors/ and jobs/ (for jobs/bounded_json), and apps/ wires them.
//
// One place for the limits every such server keeps (the same ones `troupe jobs serve`
// keeps, jobs/http/http_server.hpp), applied to a cpp-httplib server:
//   - bodies: at most body_bytes_max (413 beyond), JSON no deeper than json_depth_max
//     (jobs/bounded_json), headers within cpp-httplib's compiled 8 KiB;
//   - time: a client has read_timeout_ms for each read and write_timeout_ms for each write,
//     keep-alive connections close after keep_alive_ms idle or keep_alive_requests_max;
//   - threads: at most threads_max requests in progress (cpp-httplib holds one thread per
//     connection); more connections wait in the accept queue.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

namespace httplib {
class Server;
struct Request;
struct Response;
} // namespace httplib

namespace troupe::services {

struct http_service_options {
  std::string host = "127.0.0.1";
  int port = 0; ///< 0: any free port
  size_t body_bytes_max = 1u << 20;
  int read_timeout_ms = 5'000;
  int write_timeout_ms = 5'000;
  int keep_alive_ms = 5'000;
  size_t keep_alive_requests_max = 10'000;
  size_t threads_max = 64;
  /// Connections the kernel queues before they are accepted. cpp-httplib listens with a
  /// backlog of 5, past which Linux drops SYNs (the client resends after 1, 3, 7 s): too few
  /// for a barrier whose participants all connect at once. start() raises it.
  int listen_backlog = 1024;
};

/// A cpp-httplib server with the limits above, serving on its own thread once start()ed.
class http_service {
public:
  // -- constructors -----------------------------------------------------------

  /// `flag` names the option in messages (e.g. "--port").
  http_service(http_service_options o, std::string flag);
  ~http_service();
  http_service(const http_service&) = delete;
  http_service& operator=(const http_service&) = delete;

  // -- control ----------------------------------------------------------------

  httplib::Server& server() { return *server_; }
  /// Binds and serves; returns the port. Throws user_error when it cannot bind.
  int start();
  void stop();
  int port() const noexcept { return port_; }
  std::string url() const;

private:
  std::unique_ptr<httplib::Server> server_;
  int listen_fd_ = -1; ///< the listening socket, seen as cpp-httplib made it
  http_service_options opts_;
  std::string flag_;
  int port_ = 0;
  std::thread thread_;
};

// -- request helpers ------------------------------------------------------------

/// The request's body as a JSON object, or nullopt after answering 400 with the reason.
std::optional<nlohmann::json> json_body(const httplib::Request& req, httplib::Response& res);
/// Answers `status` with {"error": message}.
void json_error(httplib::Response& res, int status, const std::string& message);
void json_answer(httplib::Response& res, const nlohmann::json& body, int status = 200);

} // namespace troupe::services
