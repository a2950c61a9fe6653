#include "actors/jobs/http_server.hpp"

#include "actors/errors.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace troupe::jobs {

time_ms wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

http_server::http_server(engine& e, replay_service* replay, options o)
  : engine_(e), replay_(replay), native_(e, replay), opts_(std::move(o)) {
}

http_server::~http_server() {
  stop();
}

http_response http_server::dispatch(const http_request& req) {
  std::unique_lock<std::mutex> lk(mutex_);
  const time_ms now = wall_now_ms();
  http_response resp;
  if (req.path.rfind("/v1/", 0) == 0 || !replay_)
    resp = native_.handle(req, now);
  else
    resp = replay_->handle(req, now);
  if (engine_.dirty_count() == 0)
    return resp; // nothing of ours (or of anyone's) is waiting to be written
  const uint64_t mine = ++applied_seq_;
  work_cv_.notify_one();
  // Bounded: the committer answers within one transaction; a store failure is reported.
  done_cv_.wait(lk, [&] { return committed_seq_ >= mine || stopping_ || !commit_error_.empty(); });
  if (!commit_error_.empty()) {
    http_response err;
    err.status = 503;
    err.body = "the job database rejected a write: " + commit_error_;
    return err;
  }
  return resp;
}

void http_server::committer_loop() {
  std::unique_lock<std::mutex> lk(mutex_);
  while (!stopping_) {
    work_cv_.wait(lk, [&] { return stopping_ || committed_seq_ < applied_seq_; });
    if (stopping_)
      break;
    const uint64_t target = applied_seq_;
    try {
      engine_.commit();
    } catch (const std::exception& e) {
      commit_error_ = e.what();
      spdlog::error("{}", e.what());
    }
    committed_seq_ = target;
    done_cv_.notify_all();
  }
}

void http_server::lease_loop() {
  std::unique_lock<std::mutex> lk(mutex_);
  while (!stopping_) {
    lease_cv_.wait_for(lk, std::chrono::milliseconds(opts_.lease_check_ms));
    if (stopping_)
      break;
    const time_ms now = wall_now_ms();
    size_t n = engine_.expire_leases(now);
    if (replay_)
      n += replay_->expire_leases(now);
    if (n > 0) {
      spdlog::info("re-queued {} job(s) whose lease expired", n);
      ++applied_seq_;
      work_cv_.notify_all();
    }
  }
}

int http_server::start() {
  server_ = std::make_unique<httplib::Server>();
  const size_t threads = opts_.threads_max;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_keep_alive_max_count(1u << 30);
  server_->set_keep_alive_timeout(30);
  auto handler = [this](const httplib::Request& in, httplib::Response& out) {
    http_request req;
    req.method = in.method;
    req.path = in.path;
    for (const auto& [k, v] : in.params)
      req.params.emplace_back(k, v);
    for (const auto& [k, v] : in.headers)
      req.headers.emplace_back(k, v);
    req.body = in.body;
    req.remote = in.remote_addr;
    http_response resp = dispatch(req);
    out.status = resp.status;
    for (const auto& [k, v] : resp.headers)
      out.set_header(k.c_str(), v);
    out.set_content(resp.body, resp.content_type.c_str());
  };
  server_->Get(".*", handler);
  server_->Post(".*", handler);
  server_->Put(".*", handler);
  server_->Delete(".*", handler);
  if (opts_.port == 0) {
    port_ = server_->bind_to_any_port(opts_.host);
  } else {
    port_ = server_->bind_to_port(opts_.host.c_str(), opts_.port) ? opts_.port : -1;
  }
  if (port_ <= 0)
    throw user_error("cannot listen on " + opts_.host + ":" + std::to_string(opts_.port) +
                     " (address in use or not local?): pick another --port or --host");
  committer_ = std::thread([this] { committer_loop(); });
  leases_ = std::thread([this] { lease_loop(); });
  listener_ = std::thread([this] { server_->listen_after_bind(); });
  return port_;
}

void http_server::wait() {
  if (listener_.joinable())
    listener_.join();
}

void http_server::stop() {
  if (server_)
    server_->stop();
  if (listener_.joinable())
    listener_.join();
  {
    std::lock_guard<std::mutex> lk(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  done_cv_.notify_all();
  lease_cv_.notify_all();
  if (committer_.joinable())
    committer_.join();
  if (leases_.joinable())
    leases_.join();
  std::lock_guard<std::mutex> lk(mutex_);
  try {
    engine_.commit();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
  }
}

} // namespace troupe::jobs
