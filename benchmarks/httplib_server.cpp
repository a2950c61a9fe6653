#include "benchmarks/httplib_server.hpp"

#include "actors/errors.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>

namespace troupe::jobs {

httplib_server::httplib_server(engine& e, replay_service* replay, options o)
  : engine_(e)
  , replay_(replay)
  , native_(e, replay)
  , opts_(std::move(o)) {}

httplib_server::~httplib_server() { stop(); }

http_response httplib_server::dispatch(const http_request& req) {
  std::unique_lock<std::mutex> lk(mutex_);
  const time_ms now = wall_now_ms();
  http_response resp;
  if (req.path.rfind("/v1/", 0) == 0 || !replay_)
    resp = native_.handle(req, now);
  else
    resp = replay_->handle(req, now);
  if (engine_.dirty_count() == 0 && committed_seq_ == applied_seq_)
    return resp; // nothing of ours (or of anyone's) is waiting to be written
  const uint64_t mine = ++applied_seq_;
  commit_through(lk, mine);
  if (!commit_error_.empty()) {
    http_response err;
    err.status = 503;
    err.body = "the job database rejected a write: " + commit_error_;
    return err;
  }
  return resp;
}

void httplib_server::commit_through(std::unique_lock<std::mutex>& lk, uint64_t seq) {
  // Group commit with a rotating leader: the first waiter writes every change made so far
  // (outside the lock, so requests keep being applied meanwhile); the others wait for it,
  // and one of them leads the next batch. No committer thread, so no extra hand-off per
  // batch. Batches are written one at a time, so a job's later state lands after its earlier.
  while (committed_seq_ < seq && commit_error_.empty()) {
    if (committing_) {
      done_cv_.wait(lk);
      continue;
    }
    committing_ = true;
    const uint64_t target = applied_seq_;
    auto rows = engine_.take_dirty();
    lk.unlock();
    std::string error;
    try {
      if (engine_.storage())
        engine_.storage()->write(rows);
    } catch (const std::exception& e) {
      error = e.what();
      spdlog::error("{}", e.what());
    }
    lk.lock();
    if (!error.empty())
      commit_error_ = error;
    committed_seq_ = target;
    committing_ = false;
    done_cv_.notify_all();
  }
}

void httplib_server::lease_loop() {
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
      commit_through(lk, ++applied_seq_);
    }
  }
}

int httplib_server::start() {
  server_ = std::make_unique<httplib::Server>();
  const size_t threads = opts_.threads_max;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Small request/response pairs on keep-alive connections: without TCP_NODELAY, Nagle plus
  // delayed ACKs add ~40 ms to every answer.
  server_->set_tcp_nodelay(true);
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
  leases_ = std::thread([this] { lease_loop(); });
  listener_ = std::thread([this] { server_->listen_after_bind(); });
  return port_;
}

void httplib_server::wait() {
  if (listener_.joinable())
    listener_.join();
}

void httplib_server::stop() {
  if (server_)
    server_->stop();
  if (listener_.joinable())
    listener_.join();
  {
    std::lock_guard<std::mutex> lk(mutex_);
    stopping_ = true;
  }
  done_cv_.notify_all();
  lease_cv_.notify_all();
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
