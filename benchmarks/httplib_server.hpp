#pragma once
// The first HTTP server of the job engine, on cpp-httplib (a thread per keep-alive
// connection). `troupe jobs serve` now uses http_server (one epoll thread); this one is kept
// only so bench_jobs can print the baseline it replaced, measured in the same run.
//
// Concurrency: one mutex serialises every operation on the engine, which is what makes
// "one job is never handed to two workers" and "exactly one ETag wins" hold. Durability:
// group commit. A request that changed state waits until a commit has written
// the batch that holds its change; all requests that arrived meanwhile share that one
// transaction (the first waiter writes it). So an answer never reports a change that a
// kill -9 could lose.

#include "jobs/engine.hpp"
#include "jobs/http/http_server.hpp"
#include "jobs/http/native_api.hpp"
#include "jobs/replay/replay.hpp"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace troupe::jobs {

class httplib_server {
public:
  struct options {
    std::string host = "127.0.0.1";
    int port = 4000; ///< 0: any free port (tests)
    time_ms lease_check_ms = 200;
    size_t threads_max = 32; ///< keep-alive connections each hold a thread
  };

  // -- constructors -----------------------------------------------------------

  /// `replay` may be null (native face only). Both must outlive the server. While serving,
  /// the server's committer is the only writer of the store: give the engine a
  /// commit_batch_max no request can reach (serve() does).
  httplib_server(engine& e, replay_service* replay, options o);
  ~httplib_server();

  // -- control ----------------------------------------------------------------

  /// Binds and starts serving in background threads; returns the bound port.
  /// Throws user_error when the address cannot be bound.
  int start();
  /// Blocks until stop() (or a signal handler calling stop()).
  void wait();
  void stop();
  int port() const noexcept { return port_; }

  /// Runs `f` on the engine under the server's lock, then commits (for in-process callers).
  template <class F> auto with_engine(F&& f) {
    std::unique_lock<std::mutex> lk(mutex_);
    return f(engine_);
  }

private:
  http_response dispatch(const http_request& req);
  void commit_through(std::unique_lock<std::mutex>& lk, uint64_t seq);
  void lease_loop();

  engine& engine_;
  replay_service* replay_;
  native_api native_;
  options opts_;
  std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  std::thread leases_;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  std::condition_variable lease_cv_; ///< only the lease loop waits here
  uint64_t applied_seq_ = 0;
  uint64_t committed_seq_ = 0;
  bool committing_ = false;
  bool stopping_ = false;
  std::string commit_error_;
  int port_ = 0;
};

} // namespace troupe::jobs
