#include "jobs/http/http_server.hpp"

#include "actors/errors.hpp"

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
  r.body = nlohmann::json({{"error", why}}).dump();
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

  explicit connection(http_limits l)
    : parser(l) {}
};

http_server::http_server(engine& e, replay_service* replay, options o)
  : engine_(e)
  , replay_(replay)
  , native_(e, replay)
  , opts_(std::move(o))
  , route_counts_(new std::atomic<uint64_t>[route_count * statuses]) {
  for (int i = 0; i < route_count * statuses; ++i)
    route_counts_[i].store(0, std::memory_order_relaxed);
}

http_server::~http_server() { stop(); }

http_server::counters http_server::stats() const {
  counters c;
  c.requests = requests_.load();
  c.rounds = rounds_.load();
  c.commits = commits_.load();
  c.connections = accepted_.load();
  c.loop_cpu_s = static_cast<double>(loop_cpu_ns_.load()) / 1e9;
  c.loop_switches_waited = switches_waited_.load();
  c.loop_switches_preempted = switches_preempted_.load();
  c.commit_s = static_cast<double>(commit_ns_.load()) / 1e9;
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
  if (engine_.storage())
    engine_.storage()->set_checkpoint_pages(opts_.checkpoint_pages);
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
  std::lock_guard<std::mutex> lk(mutex_);
  if (engine_.storage() && thread_started_) {
    engine_.storage()->set_checkpoint_pages(1000); // SQLite's default again
    thread_started_ = false;
  }
  if (store_failed_)
    return; // the store refused a write; the engine's state is ahead of it, do not retry
  try {
    engine_.commit();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
  }
}

// -- the loop ---------------------------------------------------------------------------------

void http_server::loop() {
  epoll_event events[events_max];
  next_tick_ = wall_now_ms() + opts_.lease_check_ms;
  now_ = wall_now_ms();
  while (!stopping_) {
    const time_ms wait_ms = std::max<time_ms>(0, next_tick_ - now_);
    const int n = ::epoll_wait(epoll_fd_, events, events_max, static_cast<int>(wait_ms));
    if (n < 0 && errno != EINTR) {
      spdlog::error("jobs http server: epoll_wait: {}", std::strerror(errno));
      break;
    }
    now_ = wall_now_ms();
    handle_events(events, n);
    // A second look before committing: requests that arrived while this round was read and
    // applied join its batch (one more epoll_wait, one commit fewer). With 8 clients this
    // took the batch from ~5.5 to ~6.8 requests per commit.
    if (!round_.empty())
      if (const int more = ::epoll_wait(epoll_fd_, events, events_max, 0); more > 0)
        handle_events(events, more);
    end_round();
    if (now_ >= next_tick_) {
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
    if (connections_.size() >= opts_.connections_max) {
      ::close(fd);
      continue;
    }
    // Small request/answer pairs on keep-alive connections: without TCP_NODELAY, Nagle plus
    // delayed ACKs add ~40 ms to every answer.
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<connection>(opts_.limits);
    c->fd = fd;
    c->remote = peer_address(addr);
    c->parser.request().remote = c->remote;
    c->last_active = now_;
    c->interest = EPOLLIN | EPOLLRDHUP;
    epoll_event ev{};
    ev.events = c->interest;
    ev.data.ptr = c.get();
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      continue;
    }
    connections_.emplace(fd, std::move(c));
    ++accepted_;
  }
}

void http_server::on_readable(connection& c) {
  char buf[read_chunk];
  size_t total = 0;
  while (!c.peer_closed && !c.dead && total < read_per_round_max) {
    const ssize_t r = ::read(c.fd, buf, sizeof buf);
    if (r > 0) {
      c.in.append(buf, static_cast<size_t>(r));
      total += static_cast<size_t>(r);
      if (static_cast<size_t>(r) < sizeof buf)
        break; // the socket is drained; saves the read that would say EAGAIN
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
  if (total > 0)
    c.last_active = now_;
  parse_and_dispatch(c);
}

void http_server::parse_and_dispatch(connection& c) {
  while (!c.dead && !c.close_after && c.out_bytes < opts_.out_bytes_max && c.in_pos < c.in.size()) {
    size_t used = 0;
    const auto r = c.parser.parse(c.in.data() + c.in_pos, c.in.size() - c.in_pos, used);
    c.in_pos += used;
    if (r == request_parser::result::incomplete) {
      if (c.parser.wants_continue() && !c.continue_sent) {
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
    auto& req = c.parser.request();
    http_response resp = dispatch(req);
    const bool head = c.parser.head();
    hold(c, std::move(resp), head, !c.parser.keep_alive(), route_of(req.path));
    c.parser.reset();
    c.continue_sent = false;
    ++requests_;
  }
  if (c.in_pos == c.in.size()) {
    c.in.clear();
    c.in_pos = 0;
  } else if (c.in_pos > read_chunk && c.in_pos * 2 > c.in.size()) {
    c.in.erase(0, c.in_pos); // keep the unparsed tail; amortised by the half-size rule
    c.in_pos = 0;
  }
  if (c.peer_closed)
    touch(c);
}

void http_server::touch(connection& c) {
  if (!c.touched) {
    c.touched = true;
    touched_.push_back(&c);
  }
}

http_response http_server::dispatch(const http_request& req) {
  // Direct: the path prefix picks the face, and each face routes with plain string
  // comparisons (no regex, no hand-off to another thread).
  std::lock_guard<std::mutex> lk(mutex_);
  if (!replay_ || req.path.compare(0, 4, "/v1/") == 0)
    return native_.handle(req, now_);
  return replay_->handle(req, now_);
}

void http_server::hold(connection& c, http_response resp, bool head, bool close, uint8_t route) {
  round_.push_back({&c, std::move(resp), head, close, c.parser.http10(), false, route});
  ++c.held;
  if (close)
    c.close_after = true;
  touch(c);
}

void http_server::end_round() {
  // Every change of this round (and anything with_engine changed) is committed before any
  // of the round's answers leaves.
  const bool failed = commit_round();
  if (!round_.empty())
    ++rounds_;
  for (auto& h : round_) {
    send_answer(h, failed);
    touch(*h.c);
  }
  round_.clear();
  for (connection* c : touched_) {
    c->touched = false;
    if (!c->dead && !c->out.empty())
      flush(*c);
    const bool finished = c->out.empty() && c->held == 0;
    if (c->dead && c->held == 0)
      close_connection(*c);
    else if (!c->dead && finished && (c->close_after || c->peer_closed))
      close_connection(*c);
    else if (!c->dead)
      update_interest(*c);
  }
  touched_.clear();
}

bool http_server::commit_round() {
  std::lock_guard<std::mutex> lk(mutex_);
  if (engine_.dirty_count() == 0)
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
      c.out_bytes += h.resp.body.size();
      c.out.push_back(std::move(h.resp.body));
    }
    return;
  }
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
  c.out_bytes += head.size();
  c.out.push_back(std::move(head));
  if (body_apart) {
    c.out_bytes += h.resp.body.size();
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
    c.out_bytes -= left;
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
  if (!c.peer_closed && !c.close_after && c.out_bytes < opts_.out_bytes_max)
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
  connections_.erase(c.fd); // destroys c
}

void http_server::tick() {
  const time_ms now = now_;
  {
    std::lock_guard<std::mutex> lk(mutex_);
    size_t n = engine_.expire_leases(now);
    if (replay_)
      n += replay_->expire_leases(now);
    if (n > 0)
      spdlog::info("re-queued {} job(s) whose lease expired", n);
  }
  end_round(); // commits the re-queued jobs (and anything with_engine changed)
  if (listening_paused_) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &listen_fd_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
    listening_paused_ = false;
  }
  // Idle connections: a keep-alive client that went quiet, one stalled mid-request, or one
  // that stopped reading its answers. None of them costs a thread here, but each holds a
  // descriptor and buffers, so they do not stay forever.
  std::vector<connection*> idle;
  for (auto& [fd, c] : connections_) {
    (void) fd;
    if (now - c->last_active >= opts_.idle_timeout_ms && c->held == 0)
      idle.push_back(c.get());
  }
  for (connection* c : idle) {
    if (c->out.empty() && (c->parser.in_progress() || c->in_pos < c->in.size())) {
      static const char timeout[] = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n"
                                    "Connection: close\r\n\r\n";
      (void) ::send(c->fd, timeout, sizeof timeout - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      count(route_of(c->parser.request().path), 408);
    }
    close_connection(*c);
  }
  loop_cpu_ns_ = thread_cpu_ns();
}

} // namespace troupe::jobs
