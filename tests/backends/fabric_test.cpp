// The link fabric's relays alone, with plain loopback sockets: bytes both ways, added latency
// (FIFO even with jitter), bandwidth, a two-way cut (connections closed, new ones refused),
// a one-way cut (one direction flows, the other is dropped), a clog (held, then delivered in
// order), a target that is down, and a relay port that cannot be bound.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "backends/agent/fabric.hpp"

using namespace troupe::backends::agent;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// A socket that closes itself.
struct fd_guard {
  int fd = -1;
  explicit fd_guard(int f = -1)
    : fd(f) {}
  fd_guard(fd_guard&& o) noexcept
    : fd(o.fd) {
    o.fd = -1;
  }
  fd_guard& operator=(fd_guard&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

/// A listening socket on a free loopback port.
fd_guard listen_any(uint16_t& port) {
  fd_guard s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  auto a = loopback(0);
  EXPECT_EQ(::bind(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(::listen(s.fd, 16), 0);
  socklen_t len = sizeof(a);
  ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return s;
}

fd_guard dial(uint16_t port) {
  fd_guard s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  auto a = loopback(port);
  EXPECT_EQ(::connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << port;
  return s;
}

bool readable(int fd, std::chrono::milliseconds limit) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(limit.count())) == 1;
}

fd_guard accept_one(int listener) {
  EXPECT_TRUE(readable(listener, 10s)) << "no connection reached the target";
  return fd_guard{::accept(listener, nullptr, nullptr)};
}

void send_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    auto n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    ASSERT_GT(n, 0) << std::strerror(errno);
    off += static_cast<size_t>(n);
  }
}

/// Reads exactly `n` bytes (bounded by `limit`); fewer when the peer closed or time ran out.
std::string recv_n(int fd, size_t n, std::chrono::milliseconds limit = 20000ms) {
  std::string out;
  auto deadline = steady::now() + limit;
  char buf[65536];
  while (out.size() < n && steady::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    if (!readable(fd, std::max(left, 1ms)))
      break;
    auto r = ::recv(fd, buf, std::min(sizeof(buf), n - out.size()), 0);
    if (r <= 0)
      break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

/// True when the peer closed `fd` (EOF or reset) within `limit`.
bool closed_by_peer(int fd, std::chrono::milliseconds limit = 10000ms) {
  auto deadline = steady::now() + limit;
  char buf[4096];
  while (steady::now() < deadline) {
    if (!readable(fd, 100ms))
      continue;
    auto r = ::recv(fd, buf, sizeof(buf), 0);
    if (r <= 0)
      return true;
  }
  return false;
}

bool eventually(std::chrono::milliseconds limit, const std::function<bool()>& pred) {
  auto deadline = steady::now() + limit;
  while (steady::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

link_stats stats_of(const fabric& f, const std::string& from, const std::string& to) {
  for (auto& s : f.stats())
    if (s.from == from && s.to == to)
      return s;
  ADD_FAILURE() << "no link " << from << " -> " << to;
  return {};
}

/// One relay a -> b in front of a listening target, and one connection through it.
struct relayed_pair {
  fabric f;
  uint16_t target_port = 0;
  fd_guard target;
  uint16_t relay_port = 0;
  fd_guard a; ///< the dialler's end
  fd_guard b; ///< the target's end

  relayed_pair() {
    target = listen_any(target_port);
    relay_port = f.add_relay("a", "b", target_port);
    f.start();
    a = dial(relay_port);
    b = accept_one(target.fd);
  }
  void change(link_change::kind_t kind, const std::string& from, const std::string& to,
              link_shape shape = {}) {
    f.apply({{kind, from, to, shape}});
  }
};

} // namespace

TEST(fabric, relays_bytes_both_ways_and_counts_them) {
  relayed_pair p;
  EXPECT_NE(p.relay_port, p.target_port);
  send_all(p.a.fd, "hello");
  EXPECT_EQ(recv_n(p.b.fd, 5), "hello");
  send_all(p.b.fd, "world!");
  EXPECT_EQ(recv_n(p.a.fd, 6), "world!");
  auto ab = stats_of(p.f, "a", "b");
  auto ba = stats_of(p.f, "b", "a");
  EXPECT_EQ(ab.bytes_relayed, 5u);
  EXPECT_EQ(ba.bytes_relayed, 6u);
  EXPECT_EQ(ab.connections, 1u);
  EXPECT_EQ(p.f.relay_count(), 1u);
  EXPECT_EQ(p.f.open_connections(), 1u);
  // A close is passed on (as a half-close: the other end may still answer); once both ends
  // closed, the relay lets the connection go.
  p.a = fd_guard{};
  EXPECT_TRUE(closed_by_peer(p.b.fd));
  EXPECT_EQ(p.f.open_connections(), 1u);
  p.b = fd_guard{};
  EXPECT_TRUE(eventually(10s, [&] { return p.f.open_connections() == 0; }));
}

TEST(fabric, latency_delays_one_direction_and_jitter_never_reorders) {
  relayed_pair p;
  p.change(link_change::shape, "a", "b", {100'000'000, 0, 0});
  auto t0 = steady::now();
  send_all(p.a.fd, "ping");
  EXPECT_EQ(recv_n(p.b.fd, 4), "ping");
  EXPECT_GE(steady::now() - t0, 99ms) << "100 ms added on a -> b";

  // 20 ms + up to 50 ms of jitter per chunk: drawn independently, later chunks would often
  // overtake earlier ones; FIFO per direction keeps the byte stream in order.
  p.change(link_change::shape, "a", "b", {20'000'000, 50'000'000, 0});
  std::string sent;
  for (int i = 0; i < 100; ++i) {
    auto msg = "<" + std::to_string(i) + ">";
    sent += msg;
    send_all(p.a.fd, msg);
    std::this_thread::sleep_for(1ms); // separate chunks, so each gets its own draw
  }
  EXPECT_EQ(recv_n(p.b.fd, sent.size()), sent);
  auto ab = stats_of(p.f, "a", "b");
  EXPECT_GT(ab.chunks, 10u);
  // Every chunk waited at least the latency: nothing in the buckets below 20 ms.
  uint64_t below_20ms = 0;
  for (size_t i = 0; i < delay_buckets_ms.size() && delay_buckets_ms[i] < 20; ++i)
    below_20ms += ab.delay_counts[i];
  EXPECT_EQ(below_20ms, 0u);
  EXPECT_GE(ab.delay_ms_max, 20.0);
  EXPECT_EQ(ab.shape.latency_ns, 20'000'000);
}

TEST(fabric, bandwidth_limits_throughput) {
  relayed_pair p;
  p.change(link_change::shape, "a", "b", {0, 0, 4'000'000}); // 4 Mbit/s = 500 kB/s
  const std::string data(1'000'000, 'x');
  auto t0 = steady::now();
  std::thread writer([&] { send_all(p.a.fd, data); });
  auto got = recv_n(p.b.fd, data.size(), 30000ms);
  writer.join();
  auto elapsed = steady::now() - t0;
  EXPECT_EQ(got.size(), data.size());
  // 1 MB at 500 kB/s is 2 s (less the 16 KiB burst).
  EXPECT_GE(elapsed, 1900ms);
}

TEST(fabric, a_two_way_cut_closes_connections_and_refuses_new_ones) {
  relayed_pair p;
  send_all(p.a.fd, "before");
  EXPECT_EQ(recv_n(p.b.fd, 6), "before");
  p.f.apply({{link_change::cut, "a", "b", {}}, {link_change::cut, "b", "a", {}}});
  EXPECT_TRUE(closed_by_peer(p.a.fd));
  EXPECT_TRUE(closed_by_peer(p.b.fd));
  auto relayed = stats_of(p.f, "a", "b").bytes_relayed;
  // A new connection is accepted and closed at once; nothing reaches the target.
  auto again = dial(p.relay_port);
  send_all(again.fd, "during");
  EXPECT_TRUE(closed_by_peer(again.fd));
  EXPECT_FALSE(readable(p.target.fd, 0ms)) << "a connection crossed the cut";
  auto ab = stats_of(p.f, "a", "b");
  EXPECT_EQ(ab.bytes_relayed, relayed) << "0 bytes cross a cut";
  EXPECT_EQ(ab.mode, link_mode::cut);
  EXPECT_GE(ab.connections_refused, 1u);
  EXPECT_EQ(ab.connections_cut, 1u);
  // Healed: connections go through again.
  p.f.heal_all();
  auto after = dial(p.relay_port);
  auto b2 = accept_one(p.target.fd);
  send_all(after.fd, "after");
  EXPECT_EQ(recv_n(b2.fd, 5), "after");
}

TEST(fabric, a_one_way_cut_drops_one_direction_and_keeps_the_other) {
  relayed_pair p;
  p.change(link_change::cut, "a", "b");
  send_all(p.a.fd, "lost bytes");
  EXPECT_TRUE(eventually(10s, [&] { return stats_of(p.f, "a", "b").bytes_dropped == 10; }));
  EXPECT_EQ(stats_of(p.f, "a", "b").bytes_relayed, 0u);
  EXPECT_FALSE(readable(p.b.fd, 0ms));
  // The other direction flows, on the same connection.
  send_all(p.b.fd, "still here");
  EXPECT_EQ(recv_n(p.a.fd, 10), "still here");
  EXPECT_EQ(p.f.open_connections(), 1u);
  // At the heal, the connection that lost bytes is closed (its stream has a hole).
  p.f.heal_all();
  EXPECT_TRUE(closed_by_peer(p.a.fd));
  EXPECT_EQ(stats_of(p.f, "a", "b").connections_cut, 1u);
}

TEST(fabric, a_clog_holds_bytes_and_delivers_them_in_order_at_the_heal) {
  relayed_pair p;
  p.change(link_change::clog, "a", "b");
  std::string sent;
  for (int i = 0; i < 50; ++i) {
    auto msg = "[" + std::to_string(i) + "]";
    sent += msg;
    send_all(p.a.fd, msg);
  }
  EXPECT_TRUE(eventually(10s, [&] { return stats_of(p.f, "a", "b").bytes_held == sent.size(); }));
  EXPECT_FALSE(readable(p.b.fd, 0ms)) << "held bytes were delivered";
  // The other direction is not clogged.
  send_all(p.b.fd, "pong");
  EXPECT_EQ(recv_n(p.a.fd, 4), "pong");
  p.f.heal_all();
  EXPECT_EQ(recv_n(p.b.fd, sent.size()), sent);
  auto ab = stats_of(p.f, "a", "b");
  EXPECT_EQ(ab.bytes_held, 0u);
  EXPECT_EQ(ab.bytes_held_total, sent.size());
  EXPECT_EQ(ab.bytes_dropped, 0u);
  EXPECT_EQ(p.f.open_connections(), 1u) << "a clog closes nothing";
}

TEST(fabric, a_target_that_is_down_is_a_closed_connection) {
  uint16_t port = 0;
  {
    auto gone = listen_any(port); // closed at the end of this scope: nothing listens
  }
  fabric f;
  auto relay = f.add_relay("a", "b", port);
  f.start();
  auto c = dial(relay);
  EXPECT_TRUE(closed_by_peer(c.fd));
  EXPECT_TRUE(eventually(10s, [&] { return stats_of(f, "a", "b").connections_refused == 1; }));
  EXPECT_EQ(stats_of(f, "a", "b").bytes_dropped, 0u) << "no fault dropped anything";
}

TEST(fabric, a_relay_port_that_cannot_be_bound_is_named) {
  uint16_t busy = 0;
  auto holder = listen_any(busy);
  fabric f;
  try {
    f.add_relay("a", "b", 1, busy);
    FAIL() << "bound a busy port";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("a -> b"), std::string::npos) << what;
    EXPECT_NE(what.find("127.0.0.1:" + std::to_string(busy)), std::string::npos) << what;
  }
}
