#include "backends/agent/fabric.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "actors/random.hpp"

namespace troupe::backends::agent {

const char* to_string(link_mode m) noexcept {
  switch (m) {
    case link_mode::open:
      return "open";
    case link_mode::cut:
      return "cut";
    case link_mode::clogged:
      return "clogged";
  }
  return "?";
}

namespace {

constexpr int64_t never = std::numeric_limits<int64_t>::max();

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

// epoll tokens: the top two bits say what the rest names.
constexpr uint64_t tag_shift = 62;
constexpr uint64_t tag_listener = 0, tag_client = 1, tag_server = 2, tag_control = 3;
constexpr uint64_t token(uint64_t tag, uint64_t id) { return (tag << tag_shift) | id; }
constexpr uint64_t control_event = 0, control_timer = 1;

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

struct link {
  link_stats st;
  int64_t tat_ns = 0; ///< GCRA theoretical arrival time (bandwidth)
};

struct chunk {
  std::vector<char> data;
  size_t off = 0;
  int64_t read_ns = 0;
  int64_t due_ns = 0;
  bool held = false;
};

/// One direction of one relayed connection.
struct direction {
  link* l = nullptr;
  std::deque<chunk> q;
  uint64_t queued = 0;
  int64_t last_due_ns = 0;
  bool src_eof = false;
  bool dst_shut = false;
  bool want_write = false;
  bool lost_bytes = false; ///< a cut dropped some of its bytes: the stream has a hole
};

struct relay {
  std::string from, to;
  uint16_t listen_port = 0, target_port = 0;
  uint32_t target_addr = fabric::loopback; ///< host byte order
  int fd = -1;
  link* fwd = nullptr;  ///< (from, to)
  link* back = nullptr; ///< (to, from)
};

struct relayed_connection {
  uint64_t id = 0;
  relay* r = nullptr;
  int client = -1, server = -1;
  bool connecting = true;
  direction up;   ///< client -> server: link (from, to)
  direction down; ///< server -> client: link (to, from)
  uint32_t client_mask = 0, server_mask = 0;
};

} // namespace

struct fabric::impl {
  fabric_options opts;
  troupe::rng jitter_rng;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<link>> links;
  std::vector<std::unique_ptr<relay>> relays;
  std::unordered_map<uint64_t, std::unique_ptr<relayed_connection>> conns;
  uint64_t next_conn = 1;
  int ep = -1, event_fd = -1, timer_fd = -1;
  using timer = std::tuple<int64_t, uint64_t, int>; ///< due, connection, direction (0 up)
  std::priority_queue<timer, std::vector<timer>, std::greater<timer>> timers;
  int64_t armed_ns = never;
  std::vector<char> buf;

  std::thread loop_thread;
  std::mutex tasks_mutex;
  std::vector<std::function<void()>> tasks;
  bool running = false; ///< guarded by tasks_mutex
  bool stopping = false;

  explicit impl(fabric_options o)
    : opts(o)
    , jitter_rng(troupe::rng::stream(o.seed, "fabric")) {
    buf.resize(opts.chunk_bytes_max);
    ep = ::epoll_create1(EPOLL_CLOEXEC);
    event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    timer_fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (ep < 0 || event_fd < 0 || timer_fd < 0)
      throw std::runtime_error(std::string("the link fabric cannot start its event loop: ") +
                               std::strerror(errno));
    add_fd(event_fd, EPOLLIN, token(tag_control, control_event));
    add_fd(timer_fd, EPOLLIN, token(tag_control, control_timer));
  }

  ~impl() {
    close_everything();
    for (int fd : {ep, event_fd, timer_fd})
      if (fd >= 0)
        ::close(fd);
  }

  // -- epoll ------------------------------------------------------------------

  void add_fd(int fd, uint32_t mask, uint64_t tok) {
    epoll_event ev{};
    ev.events = mask;
    ev.data.u64 = tok;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  void mod_fd(int fd, uint32_t mask, uint64_t tok) {
    epoll_event ev{};
    ev.events = mask;
    ev.data.u64 = tok;
    ::epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
  }

  bool may_read(const direction& d) const { return !d.src_eof && d.queued < opts.queued_bytes_max; }

  /// Registers what each end of `c` waits for now.
  void update_interest(relayed_connection& c) {
    uint32_t cm = 0, sm = 0;
    if (may_read(c.up))
      cm |= EPOLLIN;
    if (c.down.want_write)
      cm |= EPOLLOUT;
    if (c.connecting) {
      sm = EPOLLOUT;
    } else {
      if (may_read(c.down))
        sm |= EPOLLIN;
      if (c.up.want_write)
        sm |= EPOLLOUT;
    }
    if (cm != c.client_mask) {
      mod_fd(c.client, cm, token(tag_client, c.id));
      c.client_mask = cm;
    }
    if (sm != c.server_mask) {
      mod_fd(c.server, sm, token(tag_server, c.id));
      c.server_mask = sm;
    }
  }

  // -- links ------------------------------------------------------------------

  link* link_of(const std::string& from, const std::string& to) {
    auto& l = links[{from, to}];
    if (!l) {
      l = std::make_unique<link>();
      l->st.from = from;
      l->st.to = to;
    }
    return l.get();
  }

  link* find_link(const std::string& from, const std::string& to) {
    auto it = links.find({from, to});
    return it == links.end() ? nullptr : it->second.get();
  }

  bool two_way_cut(const relay& r) const {
    return r.fwd->st.mode == link_mode::cut && r.back->st.mode == link_mode::cut;
  }

  /// When a chunk of `n` bytes read now may be delivered: bandwidth, then delay, then FIFO.
  int64_t schedule(direction& d, size_t n, int64_t now) {
    auto& l = *d.l;
    const auto& sh = l.st.shape;
    int64_t depart = now;
    if (sh.bandwidth_bps > 0) {
      const double ns_per_byte = 8e9 / static_cast<double>(sh.bandwidth_bps);
      const auto burst_ns =
        static_cast<int64_t>(static_cast<double>(opts.burst_bytes) * ns_per_byte);
      l.tat_ns =
        std::max(l.tat_ns, now) + static_cast<int64_t>(static_cast<double>(n) * ns_per_byte);
      depart = std::max(now, l.tat_ns - burst_ns);
    }
    int64_t delay = std::max<int64_t>(0, sh.latency_ns);
    if (sh.jitter_ns > 0)
      delay += static_cast<int64_t>(jitter_rng.below(static_cast<uint64_t>(sh.jitter_ns) + 1));
    auto due = std::max(depart + delay, d.last_due_ns);
    d.last_due_ns = due;
    return due;
  }

  static void record_delivery(link& l, int64_t delay_ns) {
    const double ms = static_cast<double>(delay_ns) / 1e6;
    size_t b = 0;
    while (b < delay_buckets_ms.size() && ms > delay_buckets_ms[b])
      ++b;
    ++l.st.delay_counts[b];
    l.st.delay_ms_sum += ms;
    l.st.delay_ms_max = std::max(l.st.delay_ms_max, ms);
    ++l.st.chunks;
  }

  // -- connections ----------------------------------------------------------------

  void accept_all(relay& r) {
    for (;;) {
      int fd = ::accept4(r.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        return; // EAGAIN, or a connection that went away before we took it
      if (two_way_cut(r) || conns.size() >= opts.connections_max) {
        ::close(fd);
        ++r.fwd->st.connections_refused;
        continue;
      }
      int s = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(r.target_port);
      addr.sin_addr.s_addr = htonl(r.target_addr);
      if (s < 0 || (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 &&
                    errno != EINPROGRESS)) {
        if (s >= 0)
          ::close(s);
        ::close(fd);
        ++r.fwd->st.connections_refused;
        continue;
      }
      set_nodelay(fd);
      set_nodelay(s);
      auto c = std::make_unique<relayed_connection>();
      c->id = next_conn++;
      c->r = &r;
      c->client = fd;
      c->server = s;
      c->up.l = r.fwd;
      c->down.l = r.back;
      c->client_mask = EPOLLIN;
      c->server_mask = EPOLLOUT;
      add_fd(fd, c->client_mask, token(tag_client, c->id));
      add_fd(s, c->server_mask, token(tag_server, c->id));
      conns.emplace(c->id, std::move(c));
    }
  }

  /// Closes `c`; whatever it still queued is dropped (by a fault) or lost (otherwise: the
  /// target was not listening, or a program reset the connection).
  void close_connection(uint64_t id, bool by_fault) {
    auto it = conns.find(id);
    if (it == conns.end())
      return;
    auto& c = *it->second;
    for (auto* d : {&c.up, &c.down}) {
      for (auto& ch : d->q) {
        auto left = ch.data.size() - ch.off;
        (by_fault ? d->l->st.bytes_dropped : d->l->st.bytes_lost) += left;
        if (ch.held)
          d->l->st.bytes_held -= left;
      }
    }
    if (by_fault)
      ++c.r->fwd->st.connections_cut;
    ::close(c.client);
    ::close(c.server);
    conns.erase(it);
  }

  void on_connected(relayed_connection& c) {
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(c.server, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      // The target is not listening (stopped, restarting): the dialler sees a closed
      // connection, as it would have seen a refused one.
      ++c.r->fwd->st.connections_refused;
      close_connection(c.id, false);
      return;
    }
    c.connecting = false;
    ++c.r->fwd->st.connections;
    if (!flush(c, c.up))
      return;
    update_interest(c);
  }

  /// Takes `n` bytes read from the source of `d`. Returns false when `c` was closed.
  bool take(relayed_connection& c, direction& d, const char* data, size_t n, int64_t now) {
    auto& l = *d.l;
    if (l.st.mode == link_mode::cut) {
      l.st.bytes_dropped += n;
      d.lost_bytes = true;
      return true;
    }
    chunk ch;
    ch.read_ns = now;
    if (l.st.mode == link_mode::clogged) {
      ch.held = true;
      ch.due_ns = never;
      l.st.bytes_held += n;
      l.st.bytes_held_total += n;
    } else {
      ch.due_ns = schedule(d, n, now);
    }
    const bool dst_ready = &d == &c.down || !c.connecting;
    // The common case, an open unshaped link: straight through, no copy kept.
    if (!ch.held && d.q.empty() && ch.due_ns <= now && dst_ready) {
      int dst = &d == &c.up ? c.server : c.client;
      auto w = ::send(dst, data, n, MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        close_connection(c.id, false);
        return false;
      }
      size_t written = w > 0 ? static_cast<size_t>(w) : 0;
      l.st.bytes_relayed += written;
      if (written == n) {
        record_delivery(l, 0);
        return true;
      }
      data += written;
      n -= written;
      d.want_write = true;
    }
    ch.data.assign(data, data + n);
    d.q.push_back(std::move(ch));
    d.queued += n;
    if (!d.q.back().held && d.q.back().due_ns > now)
      timers.emplace(d.q.back().due_ns, c.id, &d == &c.up ? 0 : 1);
    return true;
  }

  /// Writes what is due of `d`. Returns false when `c` was closed.
  bool flush(relayed_connection& c, direction& d) {
    if (&d == &c.up && c.connecting)
      return true;
    int dst = &d == &c.up ? c.server : c.client;
    const int64_t now = now_ns();
    d.want_write = false;
    while (!d.q.empty()) {
      auto& ch = d.q.front();
      if (ch.held || ch.due_ns > now)
        break;
      auto left = ch.data.size() - ch.off;
      auto w = ::send(dst, ch.data.data() + ch.off, left, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          d.want_write = true;
          break;
        }
        close_connection(c.id, false);
        return false;
      }
      ch.off += static_cast<size_t>(w);
      d.l->st.bytes_relayed += static_cast<uint64_t>(w);
      if (ch.off < ch.data.size()) {
        d.want_write = true;
        break;
      }
      record_delivery(*d.l, now - ch.read_ns);
      d.queued -= ch.data.size();
      d.q.pop_front();
    }
    if (d.q.empty() && d.src_eof && !d.dst_shut) {
      ::shutdown(dst, SHUT_WR);
      d.dst_shut = true;
    }
    if (c.up.dst_shut && c.down.dst_shut) {
      close_connection(c.id, false);
      return false;
    }
    return true;
  }

  /// Reads what the source of `d` has. Returns false when `c` was closed.
  bool read_from(relayed_connection& c, direction& d) {
    int src = &d == &c.up ? c.client : c.server;
    for (int round = 0; round < 16 && may_read(d); ++round) {
      auto n = ::recv(src, buf.data(), buf.size(), 0);
      if (n > 0) {
        if (!take(c, d, buf.data(), static_cast<size_t>(n), now_ns()))
          return false;
        continue;
      }
      if (n == 0) {
        d.src_eof = true;
        return flush(c, d);
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        break;
      close_connection(c.id, false);
      return false;
    }
    return true;
  }

  void on_event(uint64_t tok, uint32_t events) {
    const uint64_t tag = tok >> tag_shift;
    const uint64_t id = tok & ((uint64_t{1} << tag_shift) - 1);
    if (tag == tag_listener) {
      if (id < relays.size())
        accept_all(*relays[id]);
      return;
    }
    auto it = conns.find(id);
    if (it == conns.end())
      return;
    auto& c = *it->second;
    if (tag == tag_server && c.connecting) {
      on_connected(c);
      return;
    }
    if (events & EPOLLERR) {
      // Reset by the program: what the relay still holds for it cannot be delivered.
      close_connection(c.id, false);
      return;
    }
    auto& in = tag == tag_client ? c.up : c.down;
    auto& out = tag == tag_client ? c.down : c.up;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
      if (!read_from(c, in))
        return;
    if (events & EPOLLOUT)
      if (!flush(c, out))
        return;
    update_interest(c);
  }

  void run_timers() {
    const int64_t now = now_ns();
    while (!timers.empty() && std::get<0>(timers.top()) <= now) {
      auto [due, id, dir] = timers.top();
      timers.pop();
      (void) due;
      auto it = conns.find(id);
      if (it == conns.end())
        continue;
      auto& c = *it->second;
      if (flush(c, dir == 0 ? c.up : c.down))
        update_interest(c);
    }
  }

  void arm_timer() {
    const int64_t next = timers.empty() ? never : std::get<0>(timers.top());
    if (next == armed_ns)
      return;
    itimerspec spec{};
    if (next != never) {
      spec.it_value.tv_sec = next / 1'000'000'000;
      spec.it_value.tv_nsec = next % 1'000'000'000;
      if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0)
        spec.it_value.tv_nsec = 1;
    }
    ::timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &spec, nullptr);
    armed_ns = next;
  }

  // -- faults -----------------------------------------------------------------

  /// Holds or releases every queued chunk of `l`'s directions.
  void hold_queued(link& l, bool hold) {
    const int64_t now = now_ns();
    for (auto& [id, c] : conns)
      for (auto* d : {&c->up, &c->down}) {
        if (d->l != &l)
          continue;
        for (auto& ch : d->q) {
          auto left = ch.data.size() - ch.off;
          if (hold && !ch.held) {
            ch.held = true;
            l.st.bytes_held += left;
            l.st.bytes_held_total += left;
          } else if (!hold && ch.held) {
            ch.held = false;
            ch.due_ns = now;
            l.st.bytes_held -= left;
          }
        }
        if (!hold)
          d->last_due_ns = std::max(d->last_due_ns, now);
      }
  }

  /// Drops every queued chunk of `l`'s directions (a cut is airtight from its ack on).
  void drop_queued(link& l) {
    for (auto& [id, c] : conns)
      for (auto* d : {&c->up, &c->down}) {
        if (d->l != &l || d->q.empty())
          continue;
        for (auto& ch : d->q) {
          auto left = ch.data.size() - ch.off;
          l.st.bytes_dropped += left;
          if (ch.held)
            l.st.bytes_held -= left;
        }
        d->q.clear();
        d->queued = 0;
        d->want_write = false;
        d->lost_bytes = true;
      }
  }

  void apply_now(const std::vector<link_change>& changes) {
    std::vector<link*> healed;
    for (const auto& ch : changes) {
      link* l = find_link(ch.from, ch.to);
      if (!l)
        continue;
      auto& mode = l->st.mode;
      switch (ch.kind) {
        case link_change::shape:
          l->st.shape = ch.new_shape;
          break;
        case link_change::cut:
          if (mode != link_mode::cut) {
            drop_queued(*l);
            mode = link_mode::cut;
          }
          break;
        case link_change::clog:
          if (mode == link_mode::open) {
            mode = link_mode::clogged;
            hold_queued(*l, true);
          }
          break;
        case link_change::unclog:
          if (mode == link_mode::clogged) {
            hold_queued(*l, false);
            mode = link_mode::open;
          }
          break;
        case link_change::heal:
          if (mode == link_mode::clogged)
            hold_queued(*l, false);
          if (mode == link_mode::cut)
            healed.push_back(l);
          mode = link_mode::open;
          break;
      }
    }
    std::vector<uint64_t> to_close;
    for (auto& [id, c] : conns) {
      // Two-way cut: nothing crosses, so the connection ends. Healed one-way cut: the
      // stream lost bytes, so it ends too and the programs reconnect.
      bool close = two_way_cut(*c->r);
      for (auto* d : {&c->up, &c->down})
        if (d->lost_bytes && std::find(healed.begin(), healed.end(), d->l) != healed.end())
          close = true;
      if (close)
        to_close.push_back(id);
    }
    for (auto id : to_close)
      close_connection(id, true);
    // Released chunks are due now (flushing may close a connection: walk ids, not the map).
    std::vector<uint64_t> ids;
    for (auto& [id, c] : conns)
      ids.push_back(id);
    for (auto id : ids) {
      auto it = conns.find(id);
      if (it == conns.end())
        continue;
      auto& c = *it->second;
      if (flush(c, c.up) && flush(c, c.down))
        update_interest(c);
    }
  }

  // -- loop -------------------------------------------------------------------

  void run_in_loop(std::function<void()> fn) {
    std::promise<void> done;
    auto fut = done.get_future();
    {
      std::lock_guard<std::mutex> guard{tasks_mutex};
      if (!running) {
        fn();
        return;
      }
      tasks.push_back([&] {
        try {
          fn();
          done.set_value();
        } catch (...) {
          done.set_exception(std::current_exception());
        }
      });
    }
    uint64_t one = 1;
    [[maybe_unused]] auto w = ::write(event_fd, &one, sizeof(one));
    fut.get();
  }

  void run_tasks() {
    uint64_t n = 0;
    [[maybe_unused]] auto r = ::read(event_fd, &n, sizeof(n));
    std::vector<std::function<void()>> now;
    {
      std::lock_guard<std::mutex> guard{tasks_mutex};
      now.swap(tasks);
    }
    for (auto& t : now)
      t();
  }

  void loop() {
    std::array<epoll_event, 256> events;
    while (!stopping) {
      arm_timer();
      int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
      if (n < 0 && errno != EINTR)
        break;
      for (int i = 0; i < n; ++i) {
        const uint64_t tok = events[i].data.u64;
        if ((tok >> tag_shift) == tag_control) {
          const uint64_t id = tok & ((uint64_t{1} << tag_shift) - 1);
          if (id == control_event) {
            run_tasks();
          } else {
            uint64_t expirations = 0;
            [[maybe_unused]] auto r = ::read(timer_fd, &expirations, sizeof(expirations));
            armed_ns = never; // a fired timer is disarmed
          }
          continue;
        }
        on_event(tok, events[i].events);
      }
      run_timers();
    }
  }

  void close_everything() {
    std::vector<uint64_t> ids;
    for (auto& [id, c] : conns)
      ids.push_back(id);
    for (auto id : ids)
      close_connection(id, false);
    for (auto& r : relays)
      if (r->fd >= 0) {
        ::close(r->fd);
        r->fd = -1;
      }
  }
};

// -- fabric -----------------------------------------------------------------------

fabric::fabric(fabric_options o)
  : impl_(std::make_unique<impl>(o)) {}

fabric::~fabric() { stop(); }

uint16_t fabric::add_relay(const std::string& from, const std::string& to, uint16_t target_port,
                           uint16_t listen_port, uint32_t listen_addr, uint32_t target_addr) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  auto fail = [&](const char* what) {
    auto err = std::string(std::strerror(errno));
    if (fd >= 0)
      ::close(fd);
    auto a = listen_addr;
    auto host = std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
                std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
    throw std::runtime_error("the link relay " + from + " -> " + to + " cannot " + what + " " +
                             host + ":" + std::to_string(listen_port) + " (" + err + ")");
  };
  if (fd < 0)
    fail("open a socket for");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(listen_port);
  addr.sin_addr.s_addr = htonl(listen_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    fail("listen on");
  if (::listen(fd, 128) != 0)
    fail("listen on");
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t port = ntohs(addr.sin_port);
  auto& im = *impl_;
  im.run_in_loop([&] {
    auto r = std::make_unique<relay>();
    r->from = from;
    r->to = to;
    r->listen_port = port;
    r->target_port = target_port;
    r->target_addr = target_addr;
    r->fd = fd;
    r->fwd = im.link_of(from, to);
    r->back = im.link_of(to, from);
    im.add_fd(fd, EPOLLIN, token(tag_listener, im.relays.size()));
    im.relays.push_back(std::move(r));
  });
  return port;
}

size_t fabric::retarget(const std::string& to, uint32_t target_addr) {
  size_t n = 0;
  impl_->run_in_loop([&] {
    for (auto& r : impl_->relays)
      if (r->to == to) {
        r->target_addr = target_addr;
        ++n;
      }
  });
  return n;
}

void fabric::start() {
  auto& im = *impl_;
  std::lock_guard<std::mutex> guard{im.tasks_mutex};
  if (im.running)
    return;
  im.running = true;
  im.stopping = false;
  im.loop_thread = std::thread([&im] { im.loop(); });
}

void fabric::stop() noexcept {
  auto& im = *impl_;
  {
    std::lock_guard<std::mutex> guard{im.tasks_mutex};
    if (!im.running)
      return;
  }
  try {
    im.run_in_loop([&im] { im.stopping = true; });
  } catch (...) {
  }
  if (im.loop_thread.joinable())
    im.loop_thread.join();
  std::vector<std::function<void()>> left;
  {
    std::lock_guard<std::mutex> guard{im.tasks_mutex};
    im.running = false;
    left.swap(im.tasks);
  }
  // Callers that posted while the loop ended still get their answer.
  for (auto& t : left)
    t();
  im.close_everything();
}

void fabric::apply(const std::vector<link_change>& changes) {
  impl_->run_in_loop([&] { impl_->apply_now(changes); });
}

void fabric::heal_all() {
  impl_->run_in_loop([&] {
    std::vector<link_change> all;
    for (auto& [key, l] : impl_->links)
      all.push_back({link_change::heal, key.first, key.second, {}});
    impl_->apply_now(all);
  });
}

std::vector<link_stats> fabric::stats() const {
  std::vector<link_stats> out;
  impl_->run_in_loop([&] {
    for (auto& [key, l] : impl_->links)
      out.push_back(l->st);
  });
  return out;
}

size_t fabric::relay_count() const {
  size_t n = 0;
  impl_->run_in_loop([&] { n = impl_->relays.size(); });
  return n;
}

size_t fabric::open_connections() const {
  size_t n = 0;
  impl_->run_in_loop([&] { n = impl_->conns.size(); });
  return n;
}

nlohmann::json fabric::stats_json() const { return agent::stats_json(stats(), relay_count()); }

nlohmann::json stats_json(const std::vector<link_stats>& all, size_t relays) {
  using nlohmann::json;
  json links = json::array();
  json totals = {{"bytes_relayed", 0},    {"bytes_dropped", 0}, {"bytes_lost", 0},
                 {"bytes_held_total", 0}, {"connections", 0},   {"connections_refused", 0},
                 {"connections_cut", 0}};
  auto add = [&](const char* k, uint64_t v) { totals[k] = totals[k].get<uint64_t>() + v; };
  for (const auto& s : all) {
    json counts = json::array();
    for (auto c : s.delay_counts)
      counts.push_back(c);
    json le = json::array();
    for (auto b : delay_buckets_ms)
      le.push_back(b);
    le.push_back("inf");
    links.push_back(json{
      {"from", s.from},
      {"to", s.to},
      {"mode", to_string(s.mode)},
      {"latency_ms", static_cast<double>(s.shape.latency_ns) / 1e6},
      {"jitter_ms", static_cast<double>(s.shape.jitter_ns) / 1e6},
      {"bandwidth_bps", s.shape.bandwidth_bps},
      {"bytes_relayed", s.bytes_relayed},
      {"bytes_dropped", s.bytes_dropped},
      {"bytes_lost", s.bytes_lost},
      {"bytes_held", s.bytes_held},
      {"bytes_held_total", s.bytes_held_total},
      {"chunks", s.chunks},
      {"connections", s.connections},
      {"connections_refused", s.connections_refused},
      {"connections_cut", s.connections_cut},
      {"delay_ms", json{{"le", le},
                        {"counts", counts},
                        {"mean", s.chunks ? s.delay_ms_sum / static_cast<double>(s.chunks) : 0.0},
                        {"max", s.delay_ms_max}}}});
    add("bytes_relayed", s.bytes_relayed);
    add("bytes_dropped", s.bytes_dropped);
    add("bytes_lost", s.bytes_lost);
    add("bytes_held_total", s.bytes_held_total);
    add("connections", s.connections);
    add("connections_refused", s.connections_refused);
    add("connections_cut", s.connections_cut);
  }
  return json{{"definition",
               "one relay per directed peer link; per link (from -> to): bytes written to `to`, "
               "dropped by cuts, held by clogs, lost with connections that ended without a "
               "fault (target not listening, reset), and the delay each chunk spent in the "
               "relay (histogram buckets up to `le` ms)"},
              {"relays", relays},
              {"links", links},
              {"totals", totals}};
}

} // namespace troupe::backends::agent
