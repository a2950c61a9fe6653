// Reverse tunnels (backends/agent/reverse_tunnels.hpp at the agent, tunnel_pool.hpp and
// reverse_reach.hpp here): a command beside a real `troupe agent --listen` reaches a port on
// this machine's 127.0.0.1 that it is not given, through the agent's port standing for it.
// Checked as a user would: the bytes arrive whole and in order both ways, more connections at
// once than parked tunnels all get through, a half-closed request still gets its answer, a
// wrong token and a port never offered are refused, a second orchestrator is turned away,
// and everything ends with the orchestrator's connection.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "backends/agent/connection.hpp"
#include "backends/agent/protocol.hpp"
#include "backends/agent/reverse_reach.hpp"
#include "backends/agent/tunnel_pool.hpp"
#include "tests/support/listening_agent.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/sockets.hpp"
#include "tests/support/wait.hpp"

namespace {

namespace agent = troupe::backends::agent;
using namespace std::chrono_literals;
using troupe::test::connect_agent;
using troupe::test::listening_agent;

/// A server on 127.0.0.1 that answers each connection with what it sent, once the client has
/// shut its write side ("echo after EOF": a request, then its answer), on threads of its own.
class echo_server {
public:
  echo_server() {
    loop_ = std::thread([this] {
      for (;;) {
        pollfd p{listening_.fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) {
          if (stop_)
            return;
          continue;
        }
        int fd = ::accept(listening_.fd, nullptr, nullptr);
        if (fd < 0)
          continue;
        ++accepted_;
        workers_.emplace_back([fd] {
          agent::write_all(fd, troupe::test::read_to_eof(fd));
          ::close(fd);
        });
      }
    });
  }
  ~echo_server() {
    stop_ = true;
    loop_.join();
    for (auto& w : workers_)
      w.join();
  }
  uint16_t port() const { return listening_.port; }
  int accepted() const { return accepted_; }

private:
  troupe::test::busy_port listening_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread loop_;
  std::vector<std::thread> workers_; ///< only the loop's thread adds
};

int dial(uint16_t port) {
  int fd = troupe::test::dial_loopback(port);
  if (fd >= 0) // a broken tunnel fails the test instead of hanging it
    agent::set_receive_timeout(fd, 30s);
  return fd;
}

/// Sends `request` to 127.0.0.1:`port`, shuts the write side, and reads to EOF.
std::string round_trip(uint16_t port, const std::string& request) {
  int fd = dial(port);
  if (fd < 0)
    return "<no connection>";
  std::thread writer([&] {
    agent::write_all(fd, request);
    ::shutdown(fd, SHUT_WR);
  });
  const auto got = troupe::test::read_to_eof(fd);
  writer.join();
  ::close(fd);
  return got;
}

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 gen{seed};
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(gen() & 0xff);
  return s;
}

agent::tunnel_pool_options pool_at(const listening_agent& a, const std::string& token) {
  agent::tunnel_pool_options o;
  o.port = a.port;
  o.token = token;
  o.what = "the agent of pod test-0";
  return o;
}

/// "127.0.0.1:PORT" -> PORT.
uint16_t port_of(const std::string& address) {
  return static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

} // namespace

TEST(reverse_tunnel, bytes_reach_this_machines_port_whole_both_ways_through_the_agent) {
  const auto dir = troupe::test::fresh_dir("reverse-tunnel");
  listening_agent a{dir};
  std::string error;
  auto c = connect_agent(a, "pod-token", &error);
  ASSERT_TRUE(c) << error;
  echo_server here;
  agent::reverse_reach reach;
  reach.add_host(c, pool_at(a, "pod-token"));
  const auto there = reach.reach(0, here.port());
  ASSERT_EQ(there.rfind("127.0.0.1:", 0), 0u) << there;
  const auto tunnel_port = port_of(there);
  EXPECT_NE(tunnel_port, here.port());
  EXPECT_EQ(reach.reach(0, here.port()), there) << "the same port is asked for twice";

  EXPECT_EQ(round_trip(tunnel_port, "ping"), "ping");
  // 1 MiB of every byte value, more than the 64 KiB a splice holds per direction.
  const auto big = random_bytes(1 << 20, 7);
  EXPECT_TRUE(round_trip(tunnel_port, big) == big) << "the 1 MiB came back changed";

  // 20 at once, five times the parked tunnels: each waits for one the pool replaces.
  std::vector<std::string> answers(20);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < answers.size(); ++i)
    clients.emplace_back([&, i] { answers[i] = round_trip(tunnel_port, random_bytes(50000, i)); });
  for (auto& t : clients)
    t.join();
  for (size_t i = 0; i < answers.size(); ++i)
    EXPECT_TRUE(answers[i] == random_bytes(50000, static_cast<unsigned>(i))) << "connection " << i;
  EXPECT_EQ(here.accepted(), 22);

  const auto stats = reach.stats();
  ASSERT_EQ(stats.size(), 1u) << stats.dump();
  EXPECT_EQ(stats[0]["tunnels"]["opened"], 22) << stats.dump();
  EXPECT_EQ(stats[0]["ports"][std::to_string(here.port())], tunnel_port) << stats.dump();
  const auto at_agent = c->call("tunnel_stats");
  EXPECT_EQ(at_agent["opened"], 22) << at_agent.dump();
  EXPECT_EQ(at_agent["refused"], 0) << at_agent.dump();

  // The orchestrator goes: the agent ends, and its tunnel port with it.
  reach.close();
  c->close();
  EXPECT_EQ(troupe::test::wait_exit(a.pid, 30s), 0) << troupe::test::file_text(dir / "agent.log");
  a.pid = -1;
  EXPECT_EQ(dial(tunnel_port), -1) << "the tunnel port outlived its agent";
}

TEST(reverse_tunnel, a_port_this_run_never_offered_is_not_dialled) {
  const auto dir = troupe::test::fresh_dir("reverse-tunnel-offer");
  listening_agent a{dir};
  std::string error;
  auto c = connect_agent(a, "pod-token", &error);
  ASSERT_TRUE(c) << error;
  echo_server offered, other;
  agent::tunnel_pool pool{pool_at(a, "pod-token")};
  pool.allow(offered.port());
  // The agent is asked (out of turn) for a port standing for one the pool never allowed.
  const auto sneaky = c->call("tunnel_listen", {{"to_port", other.port()}})["port"].get<uint16_t>();
  EXPECT_EQ(round_trip(sneaky, "let me in"), "");
  EXPECT_EQ(other.accepted(), 0);
  EXPECT_TRUE(troupe::test::wait_until([&] { return pool.stats()["refused"] == 1; }, 10s))
    << pool.stats().dump();
  // The pool parked a new connection in place of the refused one: the offered port works.
  const auto fair = c->call("tunnel_listen", {{"to_port", offered.port()}})["port"].get<uint16_t>();
  EXPECT_EQ(round_trip(fair, "hello"), "hello");
  pool.close();
  c->close();
}

TEST(reverse_tunnel, a_wrong_token_or_a_second_orchestrator_is_refused_in_one_sentence) {
  const auto dir = troupe::test::fresh_dir("reverse-tunnel-token");
  listening_agent a{dir};
  std::string error;
  auto c = connect_agent(a, "pod-token", &error);
  ASSERT_TRUE(c) << error;
  agent::tunnel_pool bad{pool_at(a, "guess")};
  try {
    bad.allow(1);
    FAIL() << "a tunnel with the wrong token was parked";
  } catch (const agent::agent_error& e) {
    EXPECT_NE(std::string(e.what()).find("token does not match"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("the agent of pod test-0"), std::string::npos) << e.what();
  }
  std::string second;
  EXPECT_FALSE(connect_agent(a, "pod-token", &second));
  EXPECT_NE(second.find("only reverse tunnels"), std::string::npos) << second;
  // The first orchestrator is still served.
  EXPECT_TRUE(c->call("ping").is_object());
  EXPECT_EQ(c->call("tunnel_stats")["refused"], 2);
  c->close();
}

TEST(reverse_tunnel, an_agent_without_tunnels_at_its_port_says_which_and_why) {
  // An orchestrator speaking to an agent that serves it over stdio (no port): the hosts
  // that need tunnels are those it reaches over TCP, so the pool names the address it tried.
  agent::tunnel_pool_options o;
  o.port = static_cast<uint16_t>(troupe::test::free_port());
  o.what = "the agent of node member-0";
  agent::tunnel_pool pool{o};
  try {
    pool.allow(80);
    FAIL() << "parked a tunnel on a closed port";
  } catch (const agent::agent_error& e) {
    EXPECT_NE(std::string(e.what()).find("the agent of node member-0 at 127.0.0.1:" +
                                         std::to_string(o.port) + " takes no reverse tunnel"),
              std::string::npos)
      << e.what();
  }
}
