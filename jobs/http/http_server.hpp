#pragma once
// Puts the native and replay-test faces behind one event-driven HTTP/1.1 server (live path
// only: it owns threads and reads the wall clock, which sim code never does).
//
// Why event-driven: with a thread per keep-alive connection (cpp-httplib, kept as
// httplib_server for the baseline) most of the time on a 2-core machine went to the kernel
// scheduling threads and polling before each read. Here one thread runs an epoll loop over
// non-blocking sockets; each round it
//   1. reads every readable connection and parses what arrived (incrementally: any split of
//      a request, several pipelined requests in one read),
//   2. takes a second look (epoll_wait without waiting) and reads and parses what arrived
//      meanwhile, so that it joins this round's batch (at most pipeline_max requests from
//      one connection per round: the rest are parsed in the next round),
//   3. hands the round's complete requests, in arrival order, to the engine actor as ONE
//      message (engine_actor.hpp): the actor applies them (its mailbox is what makes "one
//      job is never handed to two workers" and "exactly one ETag wins" hold) and
//      group-commits (every job the round changed is written in one SQLite transaction)
//      before it answers the message,
//   4. sends, with one sendmsg per connection (pipelined answers together), the round's
//      answers, once that message is answered.
// Why one message per round and not one per request: the hop (a message, and a thread
// wake-up when the actor runs on another thread) is then paid once per batch, like the
// commit. Why the actor runs on the loop thread when it can: the loop delivers the round's
// message through its own CAF execution unit (loop_unit in the .cpp), so an idle actor is
// resumed in line by the loop instead of waking a scheduler thread and waiting for it (two
// thread hand-offs per round on 2 cores). When the actor is busy elsewhere (a dashboard's
// call_engine on the server's scheduler thread), the message queues behind that call and
// the loop waits for its answer.
// With a shared store (several orchestrators on one PostgreSQL database, store.hpp) the
// round's first request also opens the store's round (engine::begin_round: the campaign
// lock, and what the other orchestrators changed), which step 4 commits; lease expiry runs
// on the leader only (engine::leads).
// So no answer reports a change that a kill -9 could lose. Requests that arrive while a
// round commits form the next round's batch: the busier the server, the bigger the batch.
//
// Why the commit is on the loop thread (in the engine actor, resumed there in line): an
// earlier version handed each batch to a committer thread so the loop could keep reading. On this
// 2-core machine that cost two thread wake-ups per batch (futex to the committer, eventfd back),
// and under load the overlap bought nothing because both cores were busy anyway; committing in line
// uses less CPU per request and makes the batches bigger. SQLite's automatic checkpoint still runs
// inside a commit now and then (syncing the disk for a few ms), less often while serving
// (options::checkpoint_pages). Moving it to a second connection on another thread was tried
// and was worse: a passive checkpoint racing the writer never lets the WAL restart, and the
// writer then waits on WAL pages under writeback anyway.
//
// A client that is slow to read gets its answers buffered (and its reads paused above
// out_bytes_max), one that stalls mid-request is timed out, one that half-closes gets its
// answers and then the close: none of them blocks the others.
//
// Staying up for everyone (issue 17). Every resource a client can make the server hold has
// a limit in `options`, and what is held is counted in `counters`:
//   - Connections: at most connections_max, and at most connections_per_client_max from one
//     source address, so one client (however many sockets it opens) leaves room for the
//     others. A connection over either limit is closed as soon as it is accepted; the
//     others are never touched.
//   - Time: a request's head must arrive within header_deadline_ms of its first byte (of the
//     accept, for a connection's first request) and its body within body_deadline_ms of the
//     head, however steadily it trickles; a client silent for idle_timeout_ms is closed
//     (408 when it was mid-request), and so is a keep-alive connection idle between
//     requests. Deadlines are checked every lease_check_ms.
//   - Request memory: every request byte held (unparsed input, heads, bodies) counts against
//     buffered_bytes_max, across all connections. A Content-Length body is weighed whole
//     when its head ends, a chunked body chunk by chunk. A body that does not fit is refused
//     at once with 503 and `Retry-After` (it is then read to its end and dropped, so the
//     connection stays usable; after `Expect: 100-continue` the connection is closed
//     instead, since the client may never send the body). While the budget is spent, the
//     server reads no new request bytes (they wait in the kernel, which pushes back on the
//     sender) except the bodies it already admitted, which is what frees the budget.
//   - Answer memory: unsent answers pause their connection's reads above out_bytes_max, and
//     every connection with unsent answers above unsent_bytes_max in total.
// So memory stays under buffered_bytes_max + unsent_bytes_max + one read buffer and one
// small request per connection, whatever the clients do (plus the round's request records,
// kept for reuse: at most the biggest round's count, their bodies given back above 64 KiB).
// Requests parsed for a round but not yet answered are not counted as answers yet: a
// connection's next request joins the round only while its biggest answer so far, times its
// requests in the round, fits out_bytes_max and unsent_bytes_max (round_has_room).

#include "jobs/engine.hpp"
#include "jobs/engine_actor.hpp"
#include "jobs/http/access_gate.hpp"
#include "jobs/http/http_parser.hpp"
#include "jobs/http/native_api.hpp"
#include "jobs/replay/replay.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

struct epoll_event;

namespace troupe::jobs {

/// Wall-clock milliseconds (the live engine's "now").
time_ms wall_now_ms();

class http_server {
public:
  struct options {
    std::string host = "127.0.0.1";
    int port = 4000;                  ///< 0: any free port (tests)
    time_ms lease_check_ms = 200;     ///< also how often deadlines are checked
    http_limits limits;               ///< header and body caps per request (431, 413)
    time_ms idle_timeout_ms = 30'000; ///< a connection silent this long is closed (408 mid-request)
    /// A request's head must be complete this long after its first byte (for a connection's
    /// first request: after the accept); else 408 and close.
    time_ms header_deadline_ms = 10'000;
    /// A request's body must be complete this long after its head; else 408 and close.
    time_ms body_deadline_ms = 60'000;
    size_t connections_max = 10'000; ///< beyond: new connections are closed at once
    /// Connections from one source address; beyond: that address's new ones are closed.
    size_t connections_per_client_max = 1'000;
    /// Request bytes held across all connections (input, heads, bodies); a body that would
    /// go over is answered 503 with Retry-After.
    size_t buffered_bytes_max = 256u << 20;
    size_t out_bytes_max = 4u << 20; ///< unsent answers above this pause a connection's reads
    /// Unsent answer bytes across all connections; above: connections with unsent answers
    /// are not read.
    size_t unsent_bytes_max = 256u << 20;
    /// WAL pages that make a commit checkpoint (store::set_checkpoint_pages) while serving:
    /// 8000 (32 MB of WAL) measured a few percent faster than SQLite's 1000.
    int checkpoint_pages = 8000;
    /// Requests of one connection applied in one round; a client pipelining more waits for
    /// the next round (bounds the round's batch and what one client holds the others to).
    size_t pipeline_max = 64;
    /// Resume the engine actor on the loop thread when it is idle (above). False: every
    /// round's message goes through the server's CAF scheduler thread (for the benchmark).
    bool engine_on_loop_thread = true;
  };

  /// Counters for benchmarks and tests (read after stop(), or racily while serving).
  struct counters {
    uint64_t requests = 0;
    uint64_t rounds = 0;  ///< epoll rounds that answered at least one request
    uint64_t commits = 0; ///< group commits written
    /// Messages to the engine actor carrying a round's requests (one per round that applied
    /// at least one request), and how many of them the loop ran in line (on its thread).
    uint64_t engine_calls = 0, engine_calls_in_line = 0;
    uint64_t connections = 0;
    double loop_cpu_s = 0; ///< CPU time of the event-loop thread (commits included)
    double commit_s = 0;   ///< wall time spent writing group commits
    /// Context switches of the loop thread (after stop()): it waited (epoll, disk), or it
    /// was preempted (typically by a client it had just woken with an answer).
    uint64_t loop_switches_waited = 0, loop_switches_preempted = 0;
    // What the limits did (options): current values, peaks since start, and refusals.
    uint64_t connections_open = 0;
    uint64_t connections_refused_client = 0;              ///< over connections_per_client_max
    uint64_t connections_refused_full = 0;                ///< over connections_max
    uint64_t buffered_bytes = 0, buffered_bytes_peak = 0; ///< request bytes held
    uint64_t unsent_bytes = 0, unsent_bytes_peak = 0;     ///< answer bytes not yet sent
    uint64_t refused_budget = 0;  ///< bodies answered 503 (buffered_bytes_max)
    uint64_t timeouts_header = 0; ///< closed past header_deadline_ms
    uint64_t timeouts_body = 0;   ///< closed past body_deadline_ms
    uint64_t timeouts_idle = 0;   ///< closed after idle_timeout_ms of silence
    uint64_t reads_paused = 0;    ///< times a connection's reads waited for the budget
  };

  /// Requests answered since start, by route template and status code: "/v1/jobs/{id}" for
  /// every job id, "other" for paths that are no route. Thread-safe; cheap to call.
  using route_counts = std::map<std::pair<std::string, int>, uint64_t>;

  // -- constructors -----------------------------------------------------------

  /// `replay` may be null (native face only). Both must outlive the server. While serving,
  /// the server is the only writer of the store: give the engine a commit_batch_max no
  /// request can reach (serve() does). From here on the engine belongs to the server's
  /// engine actor (spawned in an actor system of the servers' own, one scheduler thread):
  /// reach it through call_engine() or engine_actor(), never directly.
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
  route_counts request_counts() const;

  /// Runs `f(engine&)` inside the engine actor (a message, waiting for its answer) and
  /// returns what it returns; its changes are committed before it returns. Works before
  /// start(), while serving and after stop() (the actor lives as long as the server), from
  /// any thread but the actor's own (from inside an engine_call it would wait for itself).
  /// An exception `f` throws is rethrown here.
  template <class F> auto call_engine(F&& f) {
    using result = std::invoke_result_t<F&, engine&>;
    if constexpr (std::is_void_v<result>) {
      run_in_engine([&](engine& e) { f(e); });
    } else {
      std::optional<result> out;
      run_in_engine([&](engine& e) { out.emplace(f(e)); });
      return std::move(*out);
    }
  }

  /// The engine actor (engine_actor.hpp's protocol), for callers that speak it directly.
  caf::actor engine_actor() const { return actor_; }

private:
  struct connection;
  /// An answer held until the round's changes are committed.
  struct held {
    connection* c;
    http_response resp;
    bool head = false;   ///< HEAD: headers only
    bool close = false;  ///< "Connection: close", then close
    bool http10 = false; ///< an HTTP/1.0 keep-alive client is told so
    bool raw = false;    ///< resp.body is sent as is (an interim "100 Continue")
    uint8_t route = 0;   ///< for request_counts()
  };

  struct loop_unit;
  /// A request waiting for the round's engine call, and the answer slot it fills.
  struct pending {
    size_t slot; ///< index in round_
    http_request req;
  };
  /// What one round's engine call fills in (shared: it outlives a loop that gave up).
  struct round_call;

  void run_in_engine(const std::function<void(engine&)>& f);
  /// Hands `round` to the engine actor and waits (bounded) for it to be applied and
  /// committed; false: no answer in time (a bug, logged).
  bool call_round(const std::shared_ptr<round_call>& round);
  void loop();
  void handle_events(const ::epoll_event* events, int n);
  void wake();
  void accept_all();
  void on_readable(connection& c);
  void parse_and_dispatch(connection& c);
  http_response dispatch(const http_request& req, time_ms now);
  uint8_t route_of(const std::string& path) const;
  void hold(connection& c, http_response resp, bool head, bool close, uint8_t route);
  void touch(connection& c);
  void end_round(bool tick_due = false);
  /// Opens the engine's round (engine::begin_round); a 503 when the store refuses it.
  std::optional<http_response> begin_round(time_ms now);
  bool commit_round();
  void send_answer(held& h, bool failed);
  void count(uint8_t route, int status);
  void flush(connection& c);
  void update_interest(connection& c);
  void close_connection(connection& c);
  void tick();                     ///< after a round that expired leases: listening, deadlines
  void expire_leases(time_ms now); ///< in the engine actor
  void check_deadlines();
  // -- budgets --
  bool may_read(const connection& c) const;
  size_t read_room(const connection& c) const;
  uint64_t body_allowance(const connection& c) const;
  void account(connection& c);
  void add_unsent(connection& c, size_t bytes);
  void sub_unsent(connection& c, size_t bytes);
  void resume_paused_reads();
  bool answers_block(const connection& c) const;
  bool round_has_room(const connection& c) const;
  void release_backlog();
  void parse_ready();
  void refuse_over_budget(connection& c);

  engine& engine_;
  replay_service* replay_;
  native_api native_;
  access_gate gate_; ///< tokens and content types, before either face
  options opts_;
  // The engine actor, in a system of the servers' own (engine_system() in the .cpp: one
  // scheduler thread), so a caller blocked in call_engine on some other system's thread
  // never holds up the engine.
  caf::actor_system* system_ = nullptr;
  caf::actor actor_;
  std::unique_ptr<loop_unit> unit_; ///< the loop thread's execution unit
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  bool listening_paused_ = false;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex done_mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  bool thread_started_ = false; ///< start() ran and stop() has not undone its settings

  // Loop thread only.
  std::unordered_map<int, std::unique_ptr<connection>> connections_;
  std::unordered_map<std::string, size_t> per_client_; ///< open connections by address
  std::vector<int> paused_;          ///< descriptors whose reads wait for the budget
  std::vector<int> backlog_;         ///< descriptors holding unparsed requests behind their answers
  std::vector<int> ready_;           ///< backlog whose answers drained: parse without waiting
  size_t buffered_ = 0;              ///< request bytes held (all connections)
  size_t unsent_ = 0;                ///< answer bytes not yet sent
  std::vector<held> round_;          ///< answers of this round, in order
  std::shared_ptr<round_call> call_; ///< this round's requests, for its engine call
  size_t round_expected_ = 0; ///< answer bytes expected for call_'s requests (round_has_room)
  std::vector<connection*> touched_; ///< connections to flush or close at the end of a round
  time_ms now_ = 0;                  ///< the wall clock, read once per round
  time_ms next_tick_ = 0;
  // Engine actor only (inside engine calls).
  bool store_failed_ = false; ///< the store refused a write (sticky: answers 503 from then)
  std::string last_error_;    ///< why the store refused (for the 503s)

  std::atomic<uint64_t> requests_{0}, rounds_{0}, commits_{0}, accepted_{0}, engine_calls_{0},
    engine_calls_in_line_{0};
  std::atomic<int64_t> loop_cpu_ns_{0}, commit_ns_{0};
  std::atomic<uint64_t> switches_waited_{0}, switches_preempted_{0};
  // Written by the loop thread only (plain load and store), read by stats().
  std::atomic<uint64_t> open_{0}, refused_client_{0}, refused_full_{0}, buffered_now_{0},
    buffered_peak_{0}, unsent_now_{0}, unsent_peak_{0}, refused_budget_{0}, timeouts_header_{0},
    timeouts_body_{0}, timeouts_idle_{0}, reads_paused_{0};
  /// Answers by (route, status - 100): written by the loop thread only, read by anyone.
  std::unique_ptr<std::atomic<uint64_t>[]> route_counts_;
};

} // namespace troupe::jobs
