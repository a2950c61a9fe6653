// A deployment over several agents (backends/agent/multi_supervisor, multi_fabric): slots
// numbered across hosts, each call on its slot's own agent; a link change reaching every host
// that relays between its two nodes, and their stats summed; a host replaced at a new address
// (a Kubernetes pod made again) getting its relays and its slots again; a bounded log tail by
// bytes.

#include <poll.h>

#include <fstream>

#include <gtest/gtest.h>

#include "backends/agent/multi_fabric.hpp"
#include "backends/agent/multi_supervisor.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/sockets.hpp"

using namespace troupe::backends;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// Two in-process agents (two "hosts"), their events routed by host.
struct two_hosts {
  std::shared_ptr<agent::multi_supervisor> sup = std::make_shared<agent::multi_supervisor>();
  std::vector<std::shared_ptr<agent::connection>> conns;
  fs::path dir;

  explicit two_hosts(const std::string& name)
    : dir(troupe::test::fresh_dir(name)) {
    for (size_t h = 0; h < 2; ++h) {
      auto s = sup;
      conns.push_back(agent::connection::start_in_process(
        [s, h](const nlohmann::json& e) { s->on_event(h, e); }));
      sup->add_host(conns.back());
    }
  }
  ~two_hosts() {
    for (auto& c : conns)
      c->close();
  }

  local::process_options sleeper(const std::string& id) const {
    local::process_options o;
    o.id = id;
    o.binary = "/bin/sleep";
    o.args = {"300"};
    o.cwd = dir / id;
    o.log_path = dir / (id + ".log");
    o.pid_path = dir / (id + ".pid");
    return o;
  }
};

/// A socket on `addr` (host byte order): listening (port 0: any), or connected to `port`.
int socket_at(uint32_t addr, uint16_t port, bool listen) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(addr);
  const bool ok =
    listen ? ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd, 8) == 0
           : ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  if (!ok) {
    ::close(fd);
    return -1;
  }
  return fd;
}

uint16_t port_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

/// Whether `listener` gets a connection within 10 s.
bool accepts(int listener) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, 10'000) != 1)
    return false;
  int fd = ::accept(listener, nullptr, nullptr);
  if (fd >= 0)
    ::close(fd);
  return fd >= 0;
}

constexpr uint32_t ip(uint32_t last) { return 0x7f000000 | last; } ///< 127.0.0.last

} // namespace

TEST(multi_agent, slots_count_across_hosts_and_each_call_reaches_its_own_agent) {
  two_hosts h{"multi-agent-slots"};
  auto a = h.sup->add(1, h.sleeper("a"), 2s);
  auto b = h.sup->add(0, h.sleeper("b"), 2s);
  auto c = h.sup->add(1, h.sleeper("c"), 2s);
  EXPECT_EQ((std::vector<size_t>{a, b, c}), (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(h.sup->host_of(a), 1u);
  EXPECT_EQ(h.sup->host_slot(a), 0u);
  EXPECT_EQ(h.sup->host_slot(b), 0u);
  EXPECT_EQ(h.sup->host_slot(c), 1u);
  EXPECT_EQ(h.sup->slot_of(1, 1), c);
  EXPECT_EQ(h.sup->slot_of(0, 1), SIZE_MAX);
  for (auto s : {a, b, c})
    h.sup->start(s);
  for (auto s : {a, b, c})
    EXPECT_EQ(h.sup->state(s), local::process_state::running) << s;
  EXPECT_EQ(h.sup->options(c).id, "c");
  // Stopping c leaves a (same host) and b (the other) running.
  EXPECT_TRUE(h.sup->stop(c, 2s));
  EXPECT_EQ(h.sup->state(c), local::process_state::exited);
  EXPECT_EQ(h.sup->state(a), local::process_state::running);
  EXPECT_EQ(h.sup->live_pids().size(), 2u);
  h.sup->stop_all(2s);
  EXPECT_TRUE(h.sup->live_pids().empty());
  EXPECT_EQ(h.sup->all_pids().size(), 3u);
}

TEST(multi_agent, a_link_change_reaches_every_host_that_relays_it_and_stats_are_summed) {
  two_hosts h{"multi-agent-relays"};
  agent::multi_fabric f{1};
  for (auto& c : h.conns)
    f.add_host(c);
  // a dials b from host 0, b dials a from host 1: link (a, b) is relayed on both.
  EXPECT_NE(f.add_relay(0, "a", "b", 1), 0);
  EXPECT_NE(f.add_relay(1, "b", "a", 2), 0);
  f.start();
  EXPECT_EQ(f.relay_count(), 2u);
  f.apply({{agent::link_change::cut, "a", "b", {}}});
  auto stats = f.stats();
  ASSERT_EQ(stats.size(), 2u) << "one entry per directed link, over both hosts";
  for (const auto& s : stats)
    EXPECT_EQ(s.mode, s.from == "a" ? agent::link_mode::cut : agent::link_mode::open) << s.from;
  f.heal_all();
  for (const auto& s : f.stats())
    EXPECT_EQ(s.mode, agent::link_mode::open) << s.from;
  f.stop();
  EXPECT_EQ(f.stats_json()["relays"], 2);
}

TEST(multi_agent, a_log_tail_by_bytes_starts_at_a_line_and_is_utf8) {
  two_hosts h{"multi-agent-tail"};
  auto o = h.sleeper("t");
  fs::create_directories(o.log_path.parent_path());
  {
    std::ofstream log{o.log_path, std::ios::binary};
    for (int i = 0; i < 100; ++i)
      log << "line " << i << "\n";
    log << "bad \xff byte\n";
  }
  auto slot = h.sup->add(0, o, 2s);
  auto tail = h.sup->log_tail_bytes(slot, 40);
  EXPECT_LE(tail.size(), 40u);
  EXPECT_EQ(tail.rfind("line ", 0), 0u) << tail;
  EXPECT_NE(tail.find("bad ? byte\n"), std::string::npos) << tail;
}

// Host 1 (node b, at 127.0.0.3) is replaced by a new agent at 127.0.0.4, as a deleted pod is
// by the one its StatefulSet makes: b's relay is made again there at its port with the cut
// in effect, host 0's relay to b dials b's new address, and b's slot is b's on the new agent.
TEST(multi_agent, a_replaced_host_gets_its_relays_and_slots_again_and_the_others_dial_it_there) {
  two_hosts h{"multi-agent-reattach"};
  agent::multi_fabric f{1};
  for (auto& c : h.conns)
    f.add_host(c);
  const int b_new = socket_at(ip(4), 0, true); // b, once it runs again, at its new address
  ASSERT_GE(b_new, 0);
  const auto b_port = port_of(b_new);
  const auto to_b = f.add_relay(0, "a", "b", b_port, 0, ip(1), ip(3));
  const auto to_a = f.add_relay(1, "b", "a", 1, 0, ip(3), ip(1));
  f.start();
  f.apply({{agent::link_change::cut, "b", "a", {}}});
  const auto slot = h.sup->add(1, h.sleeper("b"), 2s);
  h.sup->start(slot);

  h.conns[1]->close(); // gone with its pod
  auto s = h.sup;
  auto fresh =
    agent::connection::start_in_process([s](const nlohmann::json& e) { s->on_event(1, e); });
  h.conns.push_back(fresh);
  h.sup->reattach_host(1, fresh, {h.sleeper("b")});
  EXPECT_EQ(h.sup->state(slot), local::process_state::idle);
  h.sup->start(slot);
  EXPECT_EQ(h.sup->state(slot), local::process_state::running);
  EXPECT_EQ(h.sup->agent(1), fresh);
  const auto moved = f.reattach_host(1, fresh, ip(4), {"b"});
  EXPECT_EQ(moved.relays_made_again, 1u);
  EXPECT_EQ(moved.relays_pointed_here, 1u);

  // The new agent's relay b -> a: at 127.0.0.4, the same port, the cut still in effect.
  const auto stats = fresh->call("fabric_stats");
  EXPECT_EQ(stats["relays"], 1) << stats.dump();
  bool cut = false;
  for (const auto& l : stats["links"])
    cut = cut || (l["from"] == "b" && l["to"] == "a" && l["mode"] == "cut");
  EXPECT_TRUE(cut) << stats.dump(2);
  const int via_new = socket_at(ip(4), to_a, false);
  EXPECT_GE(via_new, 0) << "nothing listens at 127.0.0.4:" << to_a;
  // a's relay to b (host 0) now dials b at 127.0.0.4.
  const int via_a = socket_at(ip(1), to_b, false);
  ASSERT_GE(via_a, 0);
  EXPECT_TRUE(accepts(b_new)) << "host 0's relay to b did not dial 127.0.0.4:" << b_port;
  for (int fd : {via_new, via_a, b_new})
    if (fd >= 0)
      ::close(fd);
  h.sup->stop_all(2s);
  f.stop();
}
