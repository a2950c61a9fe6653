#pragma once
// Puts the native and replay-test faces behind one event-driven HTTP/1.1 server (live path
// only: it owns a thread and reads the wall clock, which sim code never does).
//
// Why event-driven: with a thread per keep-alive connection (cpp-httplib, kept as
// httplib_server for the baseline) most of the time on a 2-core machine went to the kernel
// scheduling threads and polling before each read. Here one thread runs an epoll loop over
// non-blocking sockets; each round it
//   1. reads every readable connection and parses what arrived (incrementally: any split of
//      a request, several pipelined requests in one read),
//   2. applies every complete request to the engine, in arrival order, under the engine
//      mutex (which is what makes "one job is never handed to two workers" and "exactly one
//      ETag wins" hold), and holds the answers,
//   3. group-commits: when no commit is being written, hands every job changed since the
//      last one to the committer thread as one SQLite transaction (batch), and
//   4. sends, with one sendmsg per connection (header and body as separate iovecs,
//      pipelined answers together), every held answer whose batch is committed.
// An answer waits for the batch that holds the changes it made or could have seen (the open
// batch when the engine has uncommitted changes, else the one being written), so it never
// reports a change that a kill -9 could lose. Batches are written one at a time, in order,
// while the loop keeps reading, applying and answering: the commit is off the loop's path
// and shared by every request that arrived while the previous one was written.
// A client that is slow to read gets its answers buffered (and its reads paused above
// out_bytes_max), one that stalls mid-request is timed out, one that half-closes gets its
// answers and then the close: none of them blocks the others.

#include "actors/jobs/engine.hpp"
#include "actors/jobs/http_parser.hpp"
#include "actors/jobs/native_api.hpp"
#include "actors/jobs/replay.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace troupe::jobs {

/// Wall-clock milliseconds (the live engine's "now").
time_ms wall_now_ms();

class http_server {
public:
  struct options {
    std::string host = "127.0.0.1";
    int port = 4000; ///< 0: any free port (tests)
    time_ms lease_check_ms = 200;
    http_limits limits;               ///< header and body caps (431, 413)
    time_ms idle_timeout_ms = 30'000; ///< a connection silent this long is closed (408 mid-request)
    size_t connections_max = 10'000;  ///< beyond: new connections are closed at once
    size_t out_bytes_max = 4u << 20;  ///< unsent answers above this pause a connection's reads
  };

  /// Counters for benchmarks and tests (read after stop(), or racily while serving).
  struct counters {
    uint64_t requests = 0;
    uint64_t rounds = 0;  ///< epoll rounds that answered at least one request
    uint64_t commits = 0; ///< group commits written
    uint64_t connections = 0;
    double loop_cpu_s = 0;   ///< CPU time of the event-loop thread
    double commit_s = 0;     ///< wall time spent writing group commits
    double commit_cpu_s = 0; ///< CPU time of the committer thread (after stop())
  };

  // -- constructors -----------------------------------------------------------

  /// `replay` may be null (native face only). Both must outlive the server. While serving,
  /// the server is the only writer of the store: give the engine a commit_batch_max no
  /// request can reach (serve() does).
  http_server(engine& e, replay_service* replay, options o);
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // -- control ----------------------------------------------------------------

  /// Binds and starts the event loop thread; returns the bound port.
  /// Throws user_error when the address cannot be bound.
  int start();
  /// Blocks until the loop has stopped (after stop() from another thread).
  void wait();
  /// Stops accepting, answers what was already read, commits, closes every connection.
  void stop();
  int port() const noexcept { return port_; }
  counters stats() const;

  /// Runs `f` on the engine under the server's lock; its changes are committed by the next
  /// round of the loop (which this call wakes).
  template <class F> auto with_engine(F&& f) {
    struct waker {
      http_server* s;
      ~waker() { s->wake(); }
    } w{this};
    std::unique_lock<std::mutex> lk(mutex_);
    return f(engine_);
  }

private:
  struct connection;
  /// An answer held until its batch is committed.
  struct held {
    connection* c;
    http_response resp;
    bool head = false;   ///< HEAD: headers only
    bool close = false;  ///< "Connection: close", then close
    bool http10 = false; ///< an HTTP/1.0 keep-alive client is told so
    bool raw = false;    ///< resp.body is sent as is (an interim "100 Continue")
    uint64_t batch = 0;  ///< sent once this batch is written (0: nothing to wait for)
  };

  void loop();
  void wake();
  void accept_all();
  void on_readable(connection& c);
  void parse_and_dispatch(connection& c);
  http_response dispatch(const http_request& req, time_ms now);
  void hold(connection& c, http_response resp, bool head, bool close);
  void touch(connection& c);
  void end_round();
  void start_commit();
  void on_committed();
  void release();
  void send_answer(held& h, bool failed);
  void flush(connection& c);
  void update_interest(connection& c);
  void close_connection(connection& c);
  void tick(time_ms now);
  void committer();

  engine& engine_;
  replay_service* replay_;
  native_api native_;
  options opts_;
  std::mutex mutex_; ///< engine access (the loop, with_engine callers)
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int commit_fd_ = -1; ///< the committer signals a written batch here
  bool listening_paused_ = false;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;

  // Loop thread only.
  std::unordered_map<int, std::unique_ptr<connection>> connections_;
  std::vector<held> round_;           ///< answers of this round, in order
  std::deque<held> waiting_;          ///< answers waiting for their batch, in order
  std::vector<connection*> touched_;  ///< connections to flush or close at the end of a round
  uint64_t next_batch_ = 1;           ///< number of the batch that collects changes now
  uint64_t committed_batch_ = 0;      ///< every batch up to this one is written
  uint64_t failed_from_ = UINT64_MAX; ///< first batch the store refused (sticky)
  bool commit_inflight_ = false;
  time_ms next_tick_ = 0;

  // Hand-off to the committer thread.
  std::thread committer_;
  std::mutex commit_mutex_;
  std::condition_variable commit_cv_;
  std::vector<job> commit_rows_;
  bool commit_ready_ = false; ///< rows handed over, not yet taken
  bool commit_done_ = false;  ///< the batch is written (or failed: commit_error_)
  bool committer_stop_ = false;
  std::string commit_error_; ///< guarded by commit_mutex_
  std::string last_error_;   ///< loop thread: why the store refused (for the 503s)

  std::atomic<uint64_t> requests_{0}, rounds_{0}, commits_{0}, accepted_{0};
  std::atomic<int64_t> loop_cpu_ns_{0}, commit_ns_{0}, commit_cpu_ns_{0};
};

} // namespace troupe::jobs
