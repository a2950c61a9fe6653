#include "jobs/http/http_server.hpp"

#include "actors/errors.hpp"
#include "jobs/bounded_json.hpp"

#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace troupe::jobs {

time_ms wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

namespace {

constexpr int events_max = 256;
constexpr size_t read_chunk = 64 * 1024;
/// Bytes read from one connection per round: enough for any burst of small requests, and a
/// bound so one fast sender cannot starve the others (level-triggered epoll comes back).
constexpr size_t read_per_round_max = 1u << 20;
constexpr int iov_max = 64;

/// A counter written by the loop thread alone: a plain load and store, no locked instruction.
void bump(std::atomic<uint64_t>& n) {
  n.store(n.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

/// A current value and its peak since start.
void publish(std::atomic<uint64_t>& now, std::atomic<uint64_t>& peak, size_t value) {
  now.store(value, std::memory_order_relaxed);
  if (value > peak.load(std::memory_order_relaxed))
    peak.store(value, std::memory_order_relaxed);
}

int64_t thread_cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string peer_address(const sockaddr_storage& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET)
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, buf, sizeof buf);
  else if (a.ss_family == AF_INET6)
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr, buf, sizeof buf);
  return buf;
}

http_response protocol_error(int status, const std::string& why) {
  http_response r;
  r.status = status;
  r.body = nlohmann::json({{"error", one_line(why)}})
             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.content_type = "application/json";
  return r;
}

// Route templates for request_counts(), in route index order.
enum route_index : uint8_t {
  route_other,
  route_v1_jobs,
  route_v1_job,
  route_v1_job_heartbeat,
  route_v1_job_complete,
  route_v1_job_verify,
  route_v1_job_fail,
  route_v1_job_retry,
  route_v1_claim,
  route_v1_summary,
  route_v1_pipeline_jobs,
  route_job,
  route_status,
  route_config,
  route_summary,
  route_healthcheck,
  route_home,
  route_count
};
constexpr const char* route_names[route_count] = {"other",
                                                  "/v1/jobs",
                                                  "/v1/jobs/{id}",
                                                  "/v1/jobs/{id}/heartbeat",
                                                  "/v1/jobs/{id}/complete",
                                                  "/v1/jobs/{id}/verify",
                                                  "/v1/jobs/{id}/fail",
                                                  "/v1/jobs/{id}/retry",
                                                  "/v1/claim",
                                                  "/v1/summary",
                                                  "/v1/pipelines/{name}/jobs",
                                                  "/job",
                                                  "/status",
                                                  "/config",
                                                  "/summary",
                                                  "/healthcheck",
                                                  "/"};
constexpr int status_min = 100, status_max = 599;
constexpr int statuses = status_max - status_min + 1;

/// The native face's route template of `p` (which starts with "/v1/"), as native_api routes.
uint8_t native_route(std::string_view p) {
  if (p == "/v1/claim")
    return route_v1_claim;
  if (p == "/v1/jobs")
    return route_v1_jobs;
  if (p == "/v1/summary")
    return route_v1_summary;
  constexpr std::string_view pipes = "/v1/pipelines/", jobs = "/v1/jobs/";
  if (p.substr(0, pipes.size()) == pipes) {
    const auto rest = p.substr(pipes.size());
    const auto slash = rest.find('/');
    return slash != std::string_view::npos && rest.substr(slash) == "/jobs" ? route_v1_pipeline_jobs
                                                                            : route_other;
  }
  if (p.substr(0, jobs.size()) != jobs)
    return route_other;
  const auto rest = p.substr(jobs.size());
  const auto slash = rest.find('/');
  const auto id = rest.substr(0, slash);
  if (id.empty() || id.size() > 18 || id.find_first_not_of("0123456789") != std::string_view::npos)
    return route_other;
  if (slash == std::string_view::npos)
    return route_v1_job;
  const auto op = rest.substr(slash + 1);
  if (op == "complete")
    return route_v1_job_complete;
  if (op == "heartbeat")
    return route_v1_job_heartbeat;
  if (op == "verify")
    return route_v1_job_verify;
  if (op == "fail")
    return route_v1_job_fail;
  if (op == "retry")
    return route_v1_job_retry;
  return route_other;
}

/// The replay-test face's route template of `p`, as replay_service routes.
uint8_t replay_route(std::string_view p) {
  if (p == "/job")
    return route_job;
  if (p == "/status")
    return route_status;
  if (p == "/config")
    return route_config;
  if (p == "/summary")
    return route_summary;
  if (p == "/healthcheck")
    return route_healthcheck;
  if (p == "/")
    return route_home;
  return route_other;
}

} // namespace

struct http_server::connection {
  int fd = -1;
  std::string remote;
  std::string in; ///< bytes read and not yet parsed, from in_pos
  size_t in_pos = 0;
  request_parser parser;
  std::deque<std::string> out; ///< answers committed, not yet sent
  size_t out_offset = 0;       ///< bytes of out.front() already sent
  size_t out_bytes = 0;        ///< unsent bytes in out
  size_t held = 0;             ///< answers still waiting for the round's commit
  time_ms last_active = 0;
  uint32_t interest = 0;      ///< current epoll event mask
  bool continue_sent = false; ///< "100 Continue" already sent for the current request
  bool peer_closed = false;   ///< read returned 0: the client sends no more
  bool close_after = false;   ///< close once the answers are sent (Connection: close, error)
  bool dead = false;          ///< socket error: nothing more can be sent
  bool touched = false;       ///< listed in touched_ this round
  // Limits (http_server.hpp, "Staying up for everyone").
  size_t* client_count = nullptr; ///< this address's entry in per_client_
  size_t accounted = 0;           ///< this connection's bytes in buffered_
  time_ms request_started = 0;    ///< first byte of the current request (first: the accept)
  time_ms body_started = 0;       ///< the current request's head was complete
  bool request_active = true;     ///< a request is under way (its head deadline runs)
  bool in_body = false;           ///< the current request's head is complete
  bool refused = false;           ///< the current request was answered 503 (budget)
  bool budget_paused = false;     ///< not read until the request budget has room
  bool backlogged = false;        ///< holds unparsed requests until its answers drain
  size_t round_requests = 0;      ///< requests of this round so far (options::pipeline_max)
  /// The biggest answer body this connection got so far; 0 before its first answer. A
  /// request's answer is made by the round's engine call, after the request was parsed, so
  /// the budgets (out_bytes_max, unsent_bytes_max) count each request of the round as this
  /// big when they decide whether to parse one more (round_has_room).
  size_t answer_bytes_max = 0;
  bool answered = false; ///< got an answer: answer_bytes_max means something

  explicit connection(http_limits l)
    : parser(l) {}
};

// -- the engine actor ------------------------------------------------------------------------

/// The actor system of every server's engine actor: one per process, with one scheduler
/// thread (where an engine actor runs when its loop does not run it in line), never destroyed.
/// Why never: a server may be destroyed on a thread of another actor system (the live `jobs`
/// workload's actor ends its campaign in on_exit), and an actor system destroyed there waited
/// for its own threads forever (jobs_live.outside_troupe_jobs_work_processes_drain_a_served_
/// campaign hung). Why not the caller's system: a caller blocked in call_engine on one of that
/// system's threads must never be what the engine waits for.
caf::actor_system& engine_system() {
  static caf::actor_system* sys = [] {
    auto* cfg = new caf::actor_system_config; // lives as long as the system: the process
    cfg->set("scheduler.max-threads", 1);
    return new caf::actor_system(*cfg);
  }();
  return *sys;
}

/// The loop thread as a CAF execution unit: a message the loop enqueues with this unit as its
/// context schedules an idle engine actor here (exec_later) instead of on the server's
/// scheduler thread, and the loop resumes it in line (run). Only the loop thread touches it.
struct http_server::loop_unit : caf::execution_unit {
  loop_unit(caf::actor_system& sys, caf::resumable* engine)
    : caf::execution_unit(&sys)
    , engine_(engine) {}

  void exec_later(caf::resumable* job) override { queue_.push_back(job); }

  /// Resumes what was scheduled here until `done()` or nothing is left (bounded); returns
  /// whether anything ran. Anything but the engine actor (an actor the engine answered while
  /// it ran here), and the engine actor once `done()` while it still has mail, goes to its
  /// own scheduler: the loop runs only its own round in line.
  template <class Done> bool run(Done done) {
    bool ran = false;
    for (int i = 0; i < resumes_max && !queue_.empty(); ++i) {
      caf::resumable* job = queue_.front();
      queue_.pop_front();
      if (job != engine_ || done()) {
        hand_over(job);
        continue;
      }
      ran = true;
      switch (job->resume(this, throughput_max)) {
        case caf::resumable::resume_later:
          queue_.push_back(job); // keeps its reference
          break;
        default: // awaiting_message, done, shutdown_execution_unit
          caf::intrusive_ptr_release(job);
      }
    }
    while (!queue_.empty()) { // bounded by what is queued
      hand_over(queue_.front());
      queue_.pop_front();
    }
    return ran;
  }

private:
  static constexpr int resumes_max = 64;
  static constexpr size_t throughput_max = 64;

  void hand_over(caf::resumable* job) {
    if (auto* a = dynamic_cast<caf::scheduled_actor*>(job))
      a->home_system().scheduler().enqueue(job); // takes over the reference
    else
      system().scheduler().enqueue(job);
  }

  caf::resumable* engine_;
  std::deque<caf::resumable*> queue_;
};

struct http_server::round_call {
  // Kept from round to round (the loop fills the first `count`), so that a request's
  // strings and vectors go back to the parser with their capacity instead of being
  // allocated anew for every request.
  std::vector<pending> requests;
  size_t count = 0;
  std::vector<http_response> answers; ///< `count` of them once done
  time_ms now = 0;
  bool tick = false;   ///< expire leases (leader only) after the requests
  bool failed = false; ///< the store refused the round's commit: answer 503
  std::mutex m;
  std::condition_variable cv;
  bool done = false;

  bool finished() {
    std::lock_guard<std::mutex> lk(m);
    return done;
  }
};

http_server::http_server(engine& e, replay_service* replay, options o)
  : engine_(e)
  , replay_(replay)
  , native_(e, replay)
  , gate_(e.storage())
  , opts_(std::move(o))
  , route_counts_(new std::atomic<uint64_t>[route_count * statuses]) {
  for (int i = 0; i < route_count * statuses; ++i)
    route_counts_[i].store(0, std::memory_order_relaxed);
  system_ = &engine_system();
  auto host = std::make_shared<engine_host>();
  // Not owned: the engine and the replay face outlive the server (constructor's contract).
  host->e = std::shared_ptr<engine>(std::shared_ptr<engine>{}, &e);
  host->replay = std::shared_ptr<replay_service>(std::shared_ptr<replay_service>{}, replay);
  host->epoch_ms = wall_now_ms();
  actor_ = spawn_engine(*system_, std::move(host));
  call_ = std::make_shared<round_call>();
  unit_ = std::make_unique<loop_unit>(
    *system_, dynamic_cast<caf::resumable*>(caf::actor_cast<caf::abstract_actor*>(actor_)));
}

http_server::~http_server() {
  stop();
  // The actor is gone before the engine can be (a call queued behind this would find it
  // destroyed). Bounded: it finishes what it runs (bounded work) and then exits.
  caf::scoped_actor self{*system_};
  self->monitor(actor_);
  self->send_exit(actor_, caf::exit_reason::user_shutdown);
  self->receive([](const caf::down_msg&) {},
                caf::after(std::chrono::seconds(30)) >>
                  [] { spdlog::error("jobs http server: the engine actor did not exit in 30 s"); });
  actor_ = nullptr;
}

void http_server::run_in_engine(const std::function<void(engine&)>& f) {
  std::exception_ptr error;
  caf::scoped_actor self{*system_};
  // Unbounded wait on purpose: the closure refers to this frame, so returning before the
  // actor ran it would leave it dangling; the actor answers every call (the closure is
  // bounded work and cannot throw out of it).
  self
    ->request(actor_, caf::infinite, engine_call_atom::value,
              engine_call{[&](engine_host&, time_ms) {
                begin_round(wall_now_ms()); // a refusal was logged: f sees what we knew
                try {
                  f(engine_);
                } catch (...) {
                  error = std::current_exception();
                }
                commit_round();
              }})
    .receive([](bool) {},
             [&](caf::error& err) {
               if (!error)
                 error = std::make_exception_ptr(
                   std::runtime_error("the job engine did not answer: " + system_->render(err)));
             });
  if (error)
    std::rethrow_exception(error);
}

bool http_server::call_round(const std::shared_ptr<round_call>& round) {
  const bool requests = round->count > 0; // not a lease expiry alone
  if (requests)
    ++engine_calls_;
  engine_call call{[this, round](engine_host&, time_ms) {
    std::vector<http_response> answers;
    answers.reserve(round->count);
    for (size_t i = 0; i < round->count; ++i)
      answers.push_back(dispatch(round->requests[i].req, round->now));
    if (round->tick)
      expire_leases(round->now);
    const bool failed = commit_round();
    {
      std::lock_guard<std::mutex> lk(round->m);
      round->answers = std::move(answers);
      round->failed = failed;
      round->done = true;
    }
    round->cv.notify_one();
  }};
  auto* a = caf::actor_cast<caf::abstract_actor*>(actor_);
  a->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, engine_call_atom::value,
                                       std::move(call)),
             opts_.engine_on_loop_thread ? unit_.get() : nullptr);
  if (unit_->run([&] { return round->finished(); }) && requests)
    ++engine_calls_in_line_;
  // Not done in line: the actor was busy with another caller's call on the scheduler thread,
  // and runs the round after it. Bounded: a minute without an answer is a bug, reported as
  // such; the round's requests are then answered 503 (the shared round_call outlives us).
  std::unique_lock<std::mutex> lk(round->m);
  if (!round->cv.wait_for(lk, std::chrono::seconds(60), [&] { return round->done; })) {
    spdlog::error("jobs http server: the engine actor did not apply a round within 60 s");
    return false;
  }
  return true;
}

http_server::counters http_server::stats() const {
  counters c;
  c.requests = requests_.load();
  c.rounds = rounds_.load();
  c.commits = commits_.load();
  c.engine_calls = engine_calls_.load();
  c.engine_calls_in_line = engine_calls_in_line_.load();
  c.connections = accepted_.load();
  c.loop_cpu_s = static_cast<double>(loop_cpu_ns_.load()) / 1e9;
  c.loop_switches_waited = switches_waited_.load();
  c.loop_switches_preempted = switches_preempted_.load();
  c.commit_s = static_cast<double>(commit_ns_.load()) / 1e9;
  c.connections_open = open_.load();
  c.connections_refused_client = refused_client_.load();
  c.connections_refused_full = refused_full_.load();
  c.buffered_bytes = buffered_now_.load();
  c.buffered_bytes_peak = buffered_peak_.load();
  c.unsent_bytes = unsent_now_.load();
  c.unsent_bytes_peak = unsent_peak_.load();
  c.refused_budget = refused_budget_.load();
  c.timeouts_header = timeouts_header_.load();
  c.timeouts_body = timeouts_body_.load();
  c.timeouts_idle = timeouts_idle_.load();
  c.reads_paused = reads_paused_.load();
  return c;
}

http_server::route_counts http_server::request_counts() const {
  route_counts out;
  for (int r = 0; r < route_count; ++r)
    for (int s = 0; s < statuses; ++s)
      if (const uint64_t n = route_counts_[r * statuses + s].load(std::memory_order_relaxed))
        out[{route_names[r], s + status_min}] = n;
  return out;
}

void http_server::count(uint8_t route, int status) {
  if (status < status_min || status > status_max || route >= route_count)
    return;
  // One writer (the loop thread): a plain load and store, no locked instruction.
  auto& n = route_counts_[route * statuses + (status - status_min)];
  n.store(n.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

uint8_t http_server::route_of(const std::string& path) const {
  if (path.compare(0, 4, "/v1/") == 0)
    return native_route(path);
  return replay_ ? replay_route(path) : uint8_t{route_other};
}

// -- control ----------------------------------------------------------------------------------

int http_server::start() {
  auto fail = [&](const std::string& why) {
    if (listen_fd_ >= 0)
      ::close(listen_fd_);
    listen_fd_ = -1;
    throw user_error("cannot listen on " + opts_.host + ":" + std::to_string(opts_.port) + " (" +
                     why + "): pick another --port or --host");
  };
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(opts_.port);
  if (::getaddrinfo(opts_.host.c_str(), service.c_str(), &hints, &found) != 0 || !found)
    fail("address not found");
  std::string why = "address in use or not local?";
  for (addrinfo* a = found; a && listen_fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
      continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 1024) == 0)
      listen_fd_ = fd;
    else
      ::close(fd);
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0)
    fail(why);
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                            : reinterpret_cast<sockaddr_in&>(bound).sin_port);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0)
    fail(std::string("epoll: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &listen_fd_; // the two non-connection fds are told apart by address
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.ptr = &wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  run_in_engine([this](engine& e) {
    if (e.storage())
      e.storage()->set_checkpoint_pages(opts_.checkpoint_pages);
  });
  thread_started_ = true;
  thread_ = std::thread([this] { loop(); });
  ::pthread_setname_np(thread_.native_handle(), "jobs-http"); // for top and perf
  return port_;
}

void http_server::wake() {
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    if (::write(wake_fd_, &one, sizeof one) < 0) {
      // The counter is already non-zero (EAGAIN): the loop wakes anyway.
    }
  }
}

void http_server::wait() {
  std::unique_lock<std::mutex> lk(done_mutex_);
  if (!thread_.joinable() && !done_)
    return;
  done_cv_.wait(lk, [this] { return done_; });
}

void http_server::stop() {
  stopping_ = true;
  wake();
  if (thread_.joinable())
    thread_.join(); // the loop answers what it read, committing first
  for (int* fd : {&listen_fd_, &epoll_fd_, &wake_fd_})
    if (*fd >= 0) {
      ::close(*fd);
      *fd = -1;
    }
  // Whatever is still uncommitted is committed in there (commit_round), unless the store
  // already refused a write: the engine's state is then ahead of it, and is not retried.
  const bool started = thread_started_;
  thread_started_ = false;
  run_in_engine([started](engine& e) {
    if (started && e.storage())
      e.storage()->set_checkpoint_pages(1000); // SQLite's default again
  });
}

// -- the loop ---------------------------------------------------------------------------------

void http_server::loop() {
  epoll_event events[events_max];
  next_tick_ = wall_now_ms() + opts_.lease_check_ms;
  now_ = wall_now_ms();
  while (!stopping_) {
    // Requests already read that waited for their connection's answers to drain are parsed
    // without waiting: no socket event would announce them.
    const time_ms wait_ms = ready_.empty() ? std::max<time_ms>(0, next_tick_ - now_) : 0;
    const int n = ::epoll_wait(epoll_fd_, events, events_max, static_cast<int>(wait_ms));
    if (n < 0 && errno != EINTR) {
      spdlog::error("jobs http server: epoll_wait: {}", std::strerror(errno));
      break;
    }
    now_ = wall_now_ms();
    handle_events(events, n);
    parse_ready();
    // A second look before committing: requests that arrived while this round was read and
    // applied join its batch (one more epoll_wait, one commit fewer). With 8 clients this
    // took the batch from ~5.5 to ~6.8 requests per commit.
    if (!round_.empty())
      if (const int more = ::epoll_wait(epoll_fd_, events, events_max, 0); more > 0)
        handle_events(events, more);
    const bool tick_due = now_ >= next_tick_;
    end_round(tick_due);
    if (tick_due) {
      tick();
      next_tick_ = now_ + opts_.lease_check_ms;
    }
  }
  // Shutting down: what was read gets its answer (after its commit), what can be sent
  // without waiting is sent, then everything is closed.
  end_round();
  for (auto& [fd, c] : connections_) {
    (void) fd;
    flush(*c);
    ::close(c->fd);
  }
  connections_.clear();
  loop_cpu_ns_ = thread_cpu_ns();
  rusage u{};
  if (::getrusage(RUSAGE_THREAD, &u) == 0) {
    switches_waited_ = static_cast<uint64_t>(u.ru_nvcsw);
    switches_preempted_ = static_cast<uint64_t>(u.ru_nivcsw);
  }
  {
    std::lock_guard<std::mutex> lk(done_mutex_);
    done_ = true;
  }
  done_cv_.notify_all();
}

void http_server::handle_events(const epoll_event* events, int n) {
  for (int i = 0; i < n; ++i) {
    void* p = events[i].data.ptr;
    if (p == &listen_fd_) {
      accept_all();
      continue;
    }
    if (p == &wake_fd_) {
      uint64_t v; // one read takes an eventfd's whole count
      if (::read(wake_fd_, &v, sizeof v) < 0) {
        // EAGAIN: already taken; nothing else can fail on an eventfd we own
      }
      continue;
    }
    auto& c = *static_cast<connection*>(p);
    touch(c);
    const uint32_t e = events[i].events;
    if (e & (EPOLLERR | EPOLLHUP)) {
      // Both directions are gone (a half-close is EPOLLRDHUP): nothing can be answered.
      // Left alive, epoll would report it every round until its batch is written.
      c.dead = true;
      continue;
    }
    if (e & EPOLLOUT) {
      flush(c);
      parse_and_dispatch(c); // reads may have been paused for a slow reader
    }
    if (e & (EPOLLIN | EPOLLRDHUP))
      on_readable(c);
  }
}

void http_server::accept_all() {
  for (int i = 0; i < 256; ++i) { // bounded; level-triggered epoll reports the rest
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    const int fd =
      ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop listening until the next tick instead of spinning on a
        // listener that stays readable.
        spdlog::warn("jobs http server: accept: {}; pausing new connections", std::strerror(errno));
        epoll_event ev{};
        ev.data.ptr = &listen_fd_;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
        listening_paused_ = true;
      }
      return; // EAGAIN, or a connection that died before we took it
    }
    // One client's share of the table first, so that a client over its share is told
    // apart from a full table (both are closed at once, before any byte is read).
    auto slot = per_client_.try_emplace(peer_address(addr), 0).first;
    if (slot->second >= opts_.connections_per_client_max ||
        connections_.size() >= opts_.connections_max) {
      bump(slot->second > 0 && slot->second >= opts_.connections_per_client_max ? refused_client_
                                                                                : refused_full_);
      if (slot->second == 0)
        per_client_.erase(slot);
      ::close(fd);
      continue;
    }
    // Small request/answer pairs on keep-alive connections: without TCP_NODELAY, Nagle plus
    // delayed ACKs add ~40 ms to every answer.
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<connection>(opts_.limits);
    c->fd = fd;
    c->remote = slot->first;
    c->parser.request().remote = c->remote;
    c->last_active = now_;
    c->request_started = now_; // the first request's head deadline runs from the accept
    c->interest = EPOLLIN | EPOLLRDHUP;
    epoll_event ev{};
    ev.events = c->interest;
    ev.data.ptr = c.get();
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      if (slot->second == 0)
        per_client_.erase(slot);
      ::close(fd);
      continue;
    }
    ++slot->second;
    c->client_count = &slot->second; // unordered_map nodes do not move
    connections_.emplace(fd, std::move(c));
    ++accepted_;
    open_.store(connections_.size(), std::memory_order_relaxed);
  }
}

void http_server::on_readable(connection& c) {
  char buf[read_chunk];
  size_t total = 0;
  const size_t cap = read_room(c);
  if (cap == 0 && !c.peer_closed && !c.dead) {
    // The request budget is spent: leave the bytes in the kernel (which pushes back on the
    // sender) until a request or connection gives some back (resume_paused_reads).
    if (!c.budget_paused) {
      c.budget_paused = true;
      paused_.push_back(c.fd);
      bump(reads_paused_);
    }
    touch(c);
  }
  while (!c.peer_closed && !c.dead && total < cap) {
    const ssize_t r = ::read(c.fd, buf, std::min(sizeof buf, cap - total));
    if (r > 0) {
      c.in.append(buf, static_cast<size_t>(r));
      total += static_cast<size_t>(r);
      if (static_cast<size_t>(r) < sizeof buf)
        break; // the socket is drained (or the room is); saves the read that says EAGAIN
      continue;
    }
    if (r == 0) {
      c.peer_closed = true;
    } else if (errno == EINTR) {
      continue;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      c.dead = true;
    }
    break;
  }
  if (total > 0) {
    c.last_active = now_;
    if (!c.request_active) { // the first byte of a request starts its head deadline
      c.request_active = true;
      c.request_started = now_;
    }
  }
  parse_and_dispatch(c);
}

void http_server::parse_and_dispatch(connection& c) {
  while (!c.dead && !c.close_after && c.out_bytes < opts_.out_bytes_max &&
         !(c.out_bytes > 0 && unsent_ >= opts_.unsent_bytes_max) && c.in_pos < c.in.size() &&
         round_has_room(c)) {
    size_t used = 0;
    c.parser.set_body_allowance(body_allowance(c));
    const auto r = c.parser.parse(c.in.data() + c.in_pos, c.in.size() - c.in_pos, used);
    c.in_pos += used;
    if (!c.in_body && c.parser.in_body()) {
      c.in_body = true;
      c.body_started = now_; // the body deadline runs from here
    }
    if (r != request_parser::result::error && c.parser.over_budget() && !c.refused)
      refuse_over_budget(c); // at once, not after the body: the client can stop sending
    account(c);
    if (r == request_parser::result::incomplete) {
      if (c.parser.wants_continue() && !c.continue_sent && !c.refused) {
        // The client waits for this before sending the body (curl does above 1 KiB). It
        // changes nothing, but goes through the round so it stays behind earlier answers.
        http_response interim;
        interim.body = "HTTP/1.1 100 Continue\r\n\r\n";
        round_.push_back({&c, std::move(interim), false, false, false, true, route_other});
        ++c.held;
        c.continue_sent = true;
      }
      break;
    }
    if (r == request_parser::result::error) {
      hold(c, protocol_error(c.parser.error_status(), c.parser.error_text()), false, true,
           route_of(c.parser.request().path));
      break;
    }
    if (!c.refused) { // a refused request was answered already; its body is gone
      // Answered by the round's engine call (end_round); its slot keeps the arrival order.
      auto& req = c.parser.request();
      hold(c, http_response{}, c.parser.head(), !c.parser.keep_alive(), route_of(req.path));
      auto& reqs = call_->requests;
      if (call_->count == reqs.size())
        reqs.emplace_back();
      pending& p = reqs[call_->count++];
      p.slot = round_.size() - 1;
      std::swap(p.req, req); // the parser gets an earlier request's buffers back (reset below)
      req.remote = c.remote; // the connection's, kept across requests
      ++c.round_requests;
      round_expected_ += c.answer_bytes_max;
      ++requests_;
    }
    c.parser.reset();
    c.continue_sent = false;
    c.refused = false;
    c.in_body = false;
    c.request_active = c.in_pos < c.in.size(); // a pipelined request starts now
    c.request_started = now_;
    account(c);
  }
  if (c.in_pos == c.in.size()) {
    // A big read's buffer is given back, so an idle connection holds one read's worth.
    if (c.in.capacity() > read_chunk)
      std::string().swap(c.in);
    else
      c.in.clear();
    c.in_pos = 0;
  } else if (c.in_pos > read_chunk && c.in_pos * 2 > c.in.size()) {
    c.in.erase(0, c.in_pos); // keep the unparsed tail; amortised by the half-size rule
    c.in_pos = 0;
  }
  if (c.in_pos < c.in.size() && !c.dead && !c.close_after &&
      (answers_block(c) || !round_has_room(c)) && !c.backlogged) {
    c.backlogged = true; // parsed again once its answers drain (release_backlog)
    backlog_.push_back(c.fd);
  }
  if (c.peer_closed)
    touch(c);
}

bool http_server::round_has_room(const connection& c) const {
  // The first request of a round always goes (the budgets above already let it); more only
  // while the answers expected for them would leave the budgets as the answers themselves
  // did when each request was answered as it was parsed: so a client pipelining requests
  // for big answers is held to its budget, as before, and one pipelining small ones gets
  // pipeline_max per round. Before a connection's first answer its size is unknown: one.
  if (c.round_requests == 0)
    return true;
  if (c.round_requests >= opts_.pipeline_max || !c.answered)
    return false;
  const size_t expected = c.out_bytes + c.round_requests * c.answer_bytes_max;
  return expected < opts_.out_bytes_max && unsent_ + round_expected_ < opts_.unsent_bytes_max;
}

bool http_server::answers_block(const connection& c) const {
  return c.out_bytes >= opts_.out_bytes_max ||
         (c.out_bytes > 0 && unsent_ >= opts_.unsent_bytes_max);
}

void http_server::release_backlog() {
  if (backlog_.empty())
    return;
  size_t kept = 0;
  for (const int fd : backlog_) {
    auto it = connections_.find(fd);
    if (it == connections_.end() || !it->second->backlogged)
      continue; // closed (by descriptor: a new connection on it is not backlogged)
    if (answers_block(*it->second))
      backlog_[kept++] = fd;
    else
      ready_.push_back(fd);
  }
  backlog_.resize(kept);
}

void http_server::parse_ready() {
  std::vector<int> ready;
  ready.swap(ready_);
  for (const int fd : ready)
    if (auto it = connections_.find(fd); it != connections_.end() && it->second->backlogged) {
      it->second->backlogged = false;
      touch(*it->second);
      parse_and_dispatch(*it->second);
    }
}

// -- budgets ----------------------------------------------------------------------------------

size_t http_server::read_room(const connection& c) const {
  // Bytes of a body already weighed (or being dropped) cost nothing more when they arrive.
  const uint64_t covered = c.parser.body_bytes_expected();
  const size_t room =
    buffered_ < opts_.buffered_bytes_max ? opts_.buffered_bytes_max - buffered_ : 0;
  return static_cast<size_t>(
    std::min<uint64_t>(read_per_round_max, static_cast<uint64_t>(room) + covered));
}

uint64_t http_server::body_allowance(const connection& c) const {
  const size_t others = buffered_ - c.accounted;
  const uint64_t used = others + c.parser.head_bytes();
  return used < opts_.buffered_bytes_max ? opts_.buffered_bytes_max - used : 0;
}

void http_server::account(connection& c) {
  const size_t held = (c.in.size() - c.in_pos) + static_cast<size_t>(c.parser.held_bytes());
  buffered_ = buffered_ - c.accounted + held;
  c.accounted = held;
  publish(buffered_now_, buffered_peak_, buffered_);
}

void http_server::add_unsent(connection& c, size_t bytes) {
  c.out_bytes += bytes;
  unsent_ += bytes;
  publish(unsent_now_, unsent_peak_, unsent_);
}

void http_server::sub_unsent(connection& c, size_t bytes) {
  c.out_bytes -= bytes;
  unsent_ -= bytes;
  unsent_now_.store(unsent_, std::memory_order_relaxed);
}

void http_server::refuse_over_budget(connection& c) {
  c.refused = true;
  bump(refused_budget_);
  http_response r = protocol_error(
    503, "the server holds its limit of " + std::to_string(opts_.buffered_bytes_max) +
           " bytes of requests (buffered_bytes_max) and cannot take this " +
           std::to_string(c.parser.held_bytes() + c.parser.body_bytes_expected()) +
           "-byte request now: retry after a moment");
  r.headers.emplace_back("Retry-After", "1");
  // After "Expect: 100-continue" the client may never send the body it was not invited to
  // send, so the request's end is unknown: close. Otherwise its body is read and dropped.
  const bool close = c.parser.wants_continue() || !c.parser.keep_alive();
  hold(c, std::move(r), false, close, route_of(c.parser.request().path));
}

void http_server::resume_paused_reads() {
  if (paused_.empty() || buffered_ >= opts_.buffered_bytes_max)
    return;
  for (const int fd : paused_) // by descriptor: a closed connection is simply not found
    if (auto it = connections_.find(fd); it != connections_.end() && it->second->budget_paused) {
      it->second->budget_paused = false;
      touch(*it->second);
    }
  paused_.clear();
}

void http_server::touch(connection& c) {
  if (!c.touched) {
    c.touched = true;
    touched_.push_back(&c);
  }
}

http_response http_server::dispatch(const http_request& req, time_ms now) {
  // In the engine actor. The path prefix picks the face, and each face routes with plain
  // string comparisons (no regex).
  if (auto refused = begin_round(now))
    return std::move(*refused);
  try {
    if (auto refused = gate_.check(req, now))
      return std::move(*refused);
    if (!replay_ || req.path.compare(0, 4, "/v1/") == 0)
      return native_.handle(req, now);
    return replay_->handle(req, now);
  } catch (const std::exception& e) {
    // A bug (the faces answer every bad input themselves), but one request must not take
    // the server down for everyone: 500 for this one, and the reason in the log.
    spdlog::error("jobs http server: {} {} failed: {}", excerpt(req.method, 16),
                  excerpt(req.path, 128), one_line(e.what()));
    return protocol_error(500, "internal error while answering this request (see the server "
                               "log); please report it");
  }
}

void http_server::hold(connection& c, http_response resp, bool head, bool close, uint8_t route) {
  // An answer counts as unsent from the moment it exists, so that a client pipelining many
  // requests in one read is paused by the answers of this very round.
  add_unsent(c, resp.body.size());
  round_.push_back({&c, std::move(resp), head, close, c.parser.http10(), false, route});
  ++c.held;
  if (close)
    c.close_after = true;
  touch(c);
}

void http_server::end_round(bool tick_due) {
  // One message to the engine actor applies the round's requests and commits every change
  // before it is answered, and so before any of the round's answers leaves.
  bool failed = false;
  if (call_->count > 0 || tick_due) {
    auto call = call_;
    call->now = now_;
    call->tick = tick_due;
    call->done = false;
    if (call_round(call)) {
      failed = call->failed;
      for (size_t i = 0; i < call->count; ++i) {
        held& h = round_[call->requests[i].slot];
        h.resp = std::move(call->answers[i]);
        add_unsent(*h.c, h.resp.body.size()); // hold() counted an empty body
        h.c->answer_bytes_max = std::max(h.c->answer_bytes_max, h.resp.body.size());
        h.c->answered = true;
      }
      for (size_t i = 0; i < call->count; ++i) // a big body is not kept past its round
        if (auto& body = call->requests[i].req.body; body.capacity() > 64 * 1024)
          std::string().swap(body);
      call->count = 0;
    } else {
      failed = true; // every answer of the round becomes a 503
      // The late call may still read its requests: the next rounds get a record of their own.
      call_ = std::make_shared<round_call>();
    }
  }
  round_expected_ = 0;
  resume_paused_reads();
  if (!round_.empty())
    ++rounds_;
  for (auto& h : round_) {
    h.c->round_requests = 0;
    send_answer(h, failed);
    touch(*h.c);
  }
  round_.clear();
  for (connection* c : touched_) {
    c->touched = false;
    if (!c->dead && !c->out.empty())
      flush(*c);
    // Requests already read and not yet parsed are answered before a half-close is honoured.
    const bool finished = c->out.empty() && c->held == 0 && !c->backlogged;
    if (c->dead && c->held == 0)
      close_connection(*c);
    else if (!c->dead && finished && (c->close_after || c->peer_closed))
      close_connection(*c);
    else if (!c->dead)
      update_interest(*c);
  }
  touched_.clear();
  release_backlog();
}

std::optional<http_response> http_server::begin_round(time_ms now) {
  // A shared store (several orchestrators on one database): the round's first request
  // takes the round lock and reads what the others changed; commit_round ends it.
  try {
    engine_.begin_round(now);
    return std::nullopt;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return protocol_error(503, "the job database refused a round: " + one_line(e.what()));
  }
}

bool http_server::commit_round() {
  const bool round_open = engine_.storage() && engine_.storage()->in_round();
  if (engine_.dirty_count() == 0 && !round_open)
    return false;
  if (store_failed_) {
    engine_.take_dirty(); // the store already refused a write: these are answered 503
    return true;
  }
  const auto t0 = std::chrono::steady_clock::now();
  try {
    engine_.commit(); // no storage: only forgets what changed (a diagnostic run)
  } catch (const std::exception& e) {
    store_failed_ = true;
    last_error_ = e.what();
    spdlog::error("{}", last_error_);
    engine_.take_dirty();
    return true;
  }
  commit_ns_ +=
    std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
      .count();
  if (engine_.storage())
    ++commits_;
  return false;
}

void http_server::send_answer(held& h, bool failed) {
  connection& c = *h.c;
  --c.held;
  if (h.raw) {
    if (!c.dead) {
      add_unsent(c, h.resp.body.size());
      c.out.push_back(std::move(h.resp.body));
    }
    return;
  }
  sub_unsent(c, h.resp.body.size()); // counted by hold(); counted again as it is queued
  if (failed)
    h.resp = protocol_error(503, "the job database rejected a write: " + last_error_);
  const int status = h.resp.status;
  count(h.route, status);
  if (c.dead)
    return;
  const bool bodiless = status < 200 || status == 204 || status == 304;
  // Head and a small body go out as one buffer (one allocation, one iovec); a big body is
  // queued as its own buffer rather than copied.
  const bool with_body = !h.head && !bodiless && !h.resp.body.empty();
  const bool body_apart = with_body && h.resp.body.size() > 16 * 1024;
  std::string head;
  head.reserve(128 + h.resp.content_type.size() +
               (with_body && !body_apart ? h.resp.body.size() : 0));
  head += "HTTP/1.1 ";
  head += std::to_string(status);
  head += ' ';
  head += reason_phrase(status);
  head += "\r\n";
  if (!bodiless) {
    head += "Content-Type: ";
    head += h.resp.content_type;
    head += "\r\nContent-Length: ";
    head += std::to_string(h.resp.body.size());
    head += "\r\n";
  }
  for (const auto& [k, v] : h.resp.headers) {
    head += k;
    head += ": ";
    head += v;
    head += "\r\n";
  }
  if (h.close)
    head += "Connection: close\r\n";
  else if (h.http10)
    head += "Connection: keep-alive\r\n"; // HTTP/1.0 closes unless told otherwise
  head += "\r\n";
  if (with_body && !body_apart)
    head += h.resp.body;
  add_unsent(c, head.size());
  c.out.push_back(std::move(head));
  if (body_apart) {
    add_unsent(c, h.resp.body.size());
    c.out.push_back(std::move(h.resp.body));
  }
}

void http_server::flush(connection& c) {
  while (!c.out.empty() && !c.dead) {
    iovec iov[iov_max];
    int n = 0;
    for (auto it = c.out.begin(); it != c.out.end() && n < iov_max; ++it, ++n) {
      const size_t off = n == 0 ? c.out_offset : 0;
      iov[n].iov_base = const_cast<char*>(it->data() + off);
      iov[n].iov_len = it->size() - off;
    }
    msghdr m{};
    m.msg_iov = iov;
    m.msg_iovlen = static_cast<size_t>(n);
    const ssize_t w = ::sendmsg(c.fd, &m, MSG_NOSIGNAL); // one writev; no SIGPIPE
    if (w < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        c.dead = true; // the peer is gone (EPIPE, ECONNRESET): drop its answers
      break;
    }
    size_t left = static_cast<size_t>(w);
    sub_unsent(c, left);
    while (left > 0) {
      const size_t rest = c.out.front().size() - c.out_offset;
      if (left < rest) {
        c.out_offset += left;
        break;
      }
      left -= rest;
      c.out.pop_front();
      c.out_offset = 0;
    }
    c.last_active = now_;
  }
}

void http_server::update_interest(connection& c) {
  uint32_t want = 0;
  if (!c.peer_closed && !c.close_after && !c.budget_paused && c.out_bytes < opts_.out_bytes_max &&
      !(c.out_bytes > 0 && unsent_ >= opts_.unsent_bytes_max))
    want |= EPOLLIN | EPOLLRDHUP;
  if (!c.out.empty())
    want |= EPOLLOUT;
  if (want == c.interest)
    return;
  epoll_event ev{};
  ev.events = want;
  ev.data.ptr = &c;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev) == 0)
    c.interest = want;
}

void http_server::close_connection(connection& c) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  buffered_ -= c.accounted;
  unsent_ -= c.out_bytes;
  buffered_now_.store(buffered_, std::memory_order_relaxed);
  unsent_now_.store(unsent_, std::memory_order_relaxed);
  if (c.client_count && --*c.client_count == 0)
    per_client_.erase(c.remote);
  connections_.erase(c.fd); // destroys c
  open_.store(connections_.size(), std::memory_order_relaxed);
}

void http_server::expire_leases(time_ms now) {
  // With several orchestrators on one database, only the leader expires leases, so each
  // expiry happens once; the others take its re-queued jobs in with their next round.
  try {
    if (!engine_.leads() || begin_round(now))
      return;
    size_t n = engine_.expire_leases(now);
    if (replay_)
      n += replay_->expire_leases(now);
    if (n > 0)
      spdlog::info("re-queued {} job(s) whose lease expired", n);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
  }
}

void http_server::tick() {
  // The round that just ended expired the leases (end_round(true)) and committed that.
  if (listening_paused_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &listen_fd_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
    listening_paused_ = false;
  }
  check_deadlines();
  loop_cpu_ns_ = thread_cpu_ns();
}

void http_server::check_deadlines() {
  // A keep-alive client that went quiet, one that trickles a request too slowly or stalls
  // mid-request, one that stopped reading its answers: none of them costs a thread here,
  // but each holds a descriptor, a slot of its client's share and buffers, so none stays
  // past its deadline.
  enum class why { header, body, idle };
  std::vector<std::pair<connection*, why>> late;
  const time_ms now = now_;
  for (auto& [fd, cp] : connections_) {
    (void) fd;
    connection& c = *cp;
    if (c.held > 0)
      continue; // answers of this round are still to go out
    const bool silent = now - c.last_active >= opts_.idle_timeout_ms;
    if (!c.out.empty()) {
      // Waiting for the client to read (its reads are paused): only its silence counts.
      if (silent)
        late.emplace_back(&c, why::idle);
    } else if (c.in_body && now - c.body_started >= opts_.body_deadline_ms) {
      late.emplace_back(&c, why::body);
    } else if (!c.in_body && c.request_active &&
               now - c.request_started >= opts_.header_deadline_ms) {
      late.emplace_back(&c, why::header);
    } else if (silent) {
      late.emplace_back(&c, why::idle);
    }
  }
  for (auto [c, reason] : late) {
    const bool mid_request = c->parser.in_progress() || c->in_pos < c->in.size();
    // 408 to a client that was sending a request (not to one that only connected or went
    // quiet between requests, nor after its request's 503).
    if (c->out.empty() && mid_request && !c->refused) {
      // Take what the client sent meanwhile: closing over unread bytes sends a reset, which
      // can destroy the 408 before the client reads it.
      char sink[4096];
      for (int i = 0; i < 16 && ::recv(c->fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
      }
      static const char timeout[] = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n"
                                    "Connection: close\r\n\r\n";
      (void) ::send(c->fd, timeout, sizeof timeout - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      count(route_of(c->parser.request().path), 408);
    }
    bump(reason == why::header ? timeouts_header_
         : reason == why::body ? timeouts_body_
                               : timeouts_idle_);
    close_connection(*c);
  }
}

} // namespace troupe::jobs
