#include "services/http_service.hpp"

#include <cerrno>
#include <cstring>

#include <httplib.h>
#include <sys/socket.h>

#include "actors/errors.hpp"
#include "jobs/bounded_json.hpp"

namespace troupe::services {

http_service::http_service(http_service_options o, std::string flag)
  : server_(std::make_unique<httplib::Server>())
  , opts_(std::move(o))
  , flag_(std::move(flag)) {
  auto& s = *server_;
  s.set_payload_max_length(opts_.body_bytes_max);
  s.set_read_timeout(opts_.read_timeout_ms / 1000, (opts_.read_timeout_ms % 1000) * 1000);
  s.set_write_timeout(opts_.write_timeout_ms / 1000, (opts_.write_timeout_ms % 1000) * 1000);
  s.set_keep_alive_timeout(std::max(1, opts_.keep_alive_ms / 1000));
  s.set_keep_alive_max_count(opts_.keep_alive_requests_max);
  s.set_tcp_nodelay(true);
  const size_t threads = opts_.threads_max;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd_ = static_cast<int>(sock);
  });
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty())
      json_error(res, res.status,
                 res.status == 404 ? "no such route"
                                   : "request refused (HTTP " + std::to_string(res.status) + ")");
  });
}

http_service::~http_service() { stop(); }

int http_service::start() {
  if (opts_.port == 0)
    port_ = server_->bind_to_any_port(opts_.host);
  else
    port_ = server_->bind_to_port(opts_.host, opts_.port) ? opts_.port : -1;
  if (port_ <= 0)
    throw user_error(flag_ + " " + std::to_string(opts_.port) + ": cannot listen on " + opts_.host +
                     " (port in use?); choose another port");
  // listen() again on the bound socket only raises its queue (Linux allows it).
  if (listen_fd_ >= 0 && ::listen(listen_fd_, opts_.listen_backlog) != 0)
    throw user_error(flag_ + ": cannot listen on " + opts_.host + ":" + std::to_string(port_) +
                     " with a backlog of " + std::to_string(opts_.listen_backlog) + " (" +
                     std::strerror(errno) + ")");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return port_;
}

void http_service::stop() {
  if (server_)
    server_->stop();
  if (thread_.joinable())
    thread_.join();
}

std::string http_service::url() const {
  return "http://" + opts_.host + ":" + std::to_string(port_);
}

std::optional<nlohmann::json> json_body(const httplib::Request& req, httplib::Response& res) {
  std::string why;
  auto v = jobs::parse_json_bounded(req.body, why);
  if (!v) {
    json_error(res, 400, "body is not JSON: " + why);
    return std::nullopt;
  }
  if (!v->is_object()) {
    json_error(res, 400, "body must be a JSON object");
    return std::nullopt;
  }
  return v;
}

void json_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", jobs::one_line(message)}}.dump() + "\n",
                  "application/json");
}

void json_answer(httplib::Response& res, const nlohmann::json& body, int status) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");
}

} // namespace troupe::services
