// The netns_* ops of the agent (host_netns.hpp), on real namespaces (as root): the agent makes
// a node's namespace where it runs and says why when it cannot; two agents of one run on one
// kernel (the tests' ssh "hosts") make names and subnets that never collide; the end of the
// agent's stream removes them, and so does its janitor after `kill -9` of the agent; and a host
// whose agent cannot make them has etcd's network faults refused with the host named, not faked.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "backends/agent/connection.hpp"
#include "backends/agent/netns.hpp"
#include "backends/agent/remote_netns.hpp"
#include "backends/local/capabilities.hpp"
#include "backends/local/program.hpp"
#include "backends/ssh/ssh_hosts.hpp"
#include "tests/support/shell.hpp"
#include "tests/support/wait.hpp"

using namespace troupe;
using namespace troupe::backends;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string netns_list() { return troupe::test::shell("ip netns list 2>&1", 30).out; }

/// A tag of this test process's own, so that its namespaces are told from others'.
std::string own_tag(const std::string& name) {
  return agent::run_tag("/tmp/troupe-agent-netns-test-" + name + "-" + std::to_string(::getpid()));
}

/// A socket listening on `addr`:`port` inside namespace `name` (made on a thread that enters
/// it: a socket stays in the namespace it was made in), or -1.
int listener_in(const std::string& name, uint32_t addr, uint16_t port) {
  int fd = -1;
  std::thread t([&] {
    int ns = ::open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0)
      return;
    ::close(ns);
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 || ::listen(fd, 4) != 0) {
      ::close(fd);
      fd = -1;
    }
  });
  t.join();
  return fd;
}

/// What `addr`:`port` sends before it closes (a second at most), or why not.
std::string read_from(uint32_t addr, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(addr);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    out = std::string("connect: ") + std::strerror(errno);
  } else {
    char buf[64];
    for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;)
      out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::shared_ptr<agent::connection> in_process_agent() {
  return agent::connection::start_in_process([](const nlohmann::json&) {});
}

} // namespace

TEST(agent_netns, the_agent_judges_namespaces_where_it_runs) {
  auto c = in_process_agent();
  EXPECT_EQ(agent::remote_netns{c}.refusal(), agent::netns_refusal());
}

TEST(agent_netns, two_agents_of_one_run_on_one_kernel_never_collide_and_each_removes_its_own) {
  if (auto why = agent::netns_refusal())
    GTEST_SKIP() << *why;
  const auto tag = own_tag("two");
  auto a = in_process_agent();
  auto b = in_process_agent();
  // At once, as the hosts' agents do while a run deploys.
  std::vector<agent::host_netns::made> made_a, made_b;
  std::thread ta([&] { made_a = agent::remote_netns{a}.make(tag, {0, 2}); });
  std::thread tb([&] { made_b = agent::remote_netns{b}.make(tag, {1}); });
  ta.join();
  tb.join();
  ASSERT_EQ(made_a.size(), 2u);
  ASSERT_EQ(made_b.size(), 1u);
  std::set<std::string> names;
  std::set<uint32_t> subnets;
  for (const auto* list : {&made_a, &made_b})
    for (const auto& m : *list) {
      names.insert(m.name);
      subnets.insert(m.root_addr & ~3u);
      EXPECT_EQ(m.inner_addr, m.root_addr + 1);
      EXPECT_NE(netns_list().find(m.name), std::string::npos) << netns_list();
    }
  EXPECT_EQ(names.size(), 3u);
  EXPECT_EQ(subnets.size(), 3u) << "each node's veth its own /30";
  // The end of a's stream: a removes its namespaces, b keeps its own.
  a->close();
  EXPECT_TRUE(troupe::test::wait_until(
    [&] { return netns_list().find(agent::netns_name(tag, 0)) == std::string::npos; }, 30s));
  EXPECT_EQ(netns_list().find(agent::netns_name(tag, 2)), std::string::npos) << netns_list();
  EXPECT_NE(netns_list().find(agent::netns_name(tag, 1)), std::string::npos) << netns_list();
  agent::remote_netns{b}.remove();
  EXPECT_EQ(netns_list().find("troupe-" + tag + "-"), std::string::npos) << netns_list();
}

TEST(agent_netns, a_node_binds_its_hosts_address_and_is_reached_there_through_the_forward) {
  if (auto why = agent::netns_refusal())
    GTEST_SKIP() << *why;
  const auto tag = own_tag("bind");
  auto c = in_process_agent();
  agent::remote_netns ns{c};
  auto made = ns.make(tag, {0});
  ASSERT_EQ(made.size(), 1u);
  // A host at 127.0.0.9: the node listens there inside, troupe dials it there outside.
  const uint32_t host = 0x7f000009;
  const uint16_t port = 47811;
  auto rules = fs::temp_directory_path() / ("troupe-agent-netns-" + tag) / "n.nft";
  ns.install(0, {}, {port}, host, {{"n", host, port}}, rules);
  // A listener inside (on a thread that entered the namespace), answering "inside" once.
  int inside = listener_in(made[0].name, host, port);
  ASSERT_GE(inside, 0) << std::strerror(errno);
  std::thread answer([inside] {
    pollfd p{inside, POLLIN, 0};
    if (::poll(&p, 1, 20000) == 1) {
      int c = ::accept(inside, nullptr, nullptr);
      [[maybe_unused]] auto n = ::write(c, "inside", 6);
      ::close(c);
    }
    ::close(inside);
  });
  std::string got;
  EXPECT_TRUE(troupe::test::wait_until(
    [&] {
      got = read_from(host, port);
      return got == "inside";
    },
    20s, 200ms))
    << got;
  answer.join();
  ns.remove();
  EXPECT_EQ(netns_list().find("troupe-" + tag + "-"), std::string::npos) << netns_list();
}

TEST(agent_netns, kill_9_of_the_agent_leaves_no_namespace_behind) {
  // Its janitor (a shell in its own session, reading a pipe only the agent writes) removes
  // them when the agent dies without tearing down.
  if (auto why = agent::netns_refusal())
    GTEST_SKIP() << *why;
  auto dir = fs::temp_directory_path() / ("troupe-agent-netns-kill-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  agent::child_agent_options o;
  o.binary = troupe::test::troupe_binary();
  o.log_path = dir / "agent.log";
  o.pid_path = dir / "agent.pid";
  auto c = agent::connection::start_child(o, [](const nlohmann::json&) {});
  const auto tag = own_tag("kill");
  ASSERT_EQ(agent::remote_netns{c}.make(tag, {0, 1}).size(), 2u);
  ASSERT_NE(netns_list().find(agent::netns_name(tag, 1)), std::string::npos) << netns_list();
  ASSERT_GT(c->agent_pid(), 0);
  ::kill(c->agent_pid(), SIGKILL);
  EXPECT_TRUE(troupe::test::wait_until(
    [&] { return netns_list().find("troupe-" + tag + "-") == std::string::npos; }, 30s, 100ms))
    << netns_list();
  c->close();
  fs::remove_all(dir);
}

TEST(agent_netns, an_agent_that_is_not_root_says_so_and_makes_none) {
  // `troupe agent --stdio` as uid 65534 (nobody), as an ssh user without root would run it.
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to run the agent as another user";
  if (troupe::test::shell("command -v setpriv", 10).code != 0)
    GTEST_SKIP() << "setpriv is missing (Debian util-linux)";
  auto dir =
    fs::temp_directory_path() / ("troupe-agent-netns-nobody-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto wrapper = dir / "troupe-as-nobody";
  {
    std::ofstream w{wrapper};
    w << "#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups "
      << troupe::test::troupe_binary() << " \"$@\"\n";
  }
  fs::permissions(wrapper, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  agent::child_agent_options o;
  o.binary = wrapper.string();
  o.log_path = dir / "agent.log";
  o.pid_path = dir / "agent.pid";
  auto c = agent::connection::start_child(o, [](const nlohmann::json&) {});
  agent::remote_netns ns{c};
  auto why = ns.refusal();
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("network namespaces need root (CAP_NET_ADMIN) but troupe runs as uid 65534"),
            std::string::npos)
    << *why;
  const auto tag = own_tag("nobody");
  try {
    ns.make(tag, {0});
    ADD_FAILURE() << "an agent that is not root made a namespace";
  } catch (const agent::agent_error& e) {
    EXPECT_NE(std::string(e.what()).find("need root"), std::string::npos) << e.what();
  }
  EXPECT_EQ(netns_list().find("troupe-" + tag + "-"), std::string::npos) << netns_list();
  c->close();
  fs::remove_all(dir);
}

TEST(agent_netns, a_host_that_cannot_make_namespaces_refuses_etcds_network_faults_naming_it) {
  const std::string why = "network namespaces need root (CAP_NET_ADMIN) but troupe runs as uid "
                          "1000: run it as root";
  auto refusing = ssh::ssh_hosts::ssh_limits(
    {{"h1 (127.0.0.2)", std::nullopt}, {"h2 (127.0.0.3)", why}, {"h3 (127.0.0.4)", std::nullopt}});
  ASSERT_TRUE(refusing.no_netns);
  auto etcd = local::load_program("etcd");
  local::capabilities caps{{{"member-0", etcd.get()}, {"member-1", etcd.get()}}, true, refusing};
  EXPECT_FALSE(caps.namespaced(*etcd));
  fault_request partition{"", "", "partition", {"member-0", "member-1"}, true, {}};
  auto no = caps.refusal(partition);
  ASSERT_TRUE(no.has_value());
  EXPECT_NE(no->find("host h2 (127.0.0.3) cannot give its nodes network namespaces: " + why),
            std::string::npos)
    << *no;
  // Hosts that can: every network fault of etcd goes through their namespaces, whatever this
  // machine could do itself.
  auto able = ssh::ssh_hosts::ssh_limits({{"h1 (127.0.0.2)", std::nullopt}});
  EXPECT_FALSE(able.no_netns);
  local::capabilities ok{{{"member-0", etcd.get()}, {"member-1", etcd.get()}}, true, able};
  EXPECT_TRUE(ok.namespaced(*etcd));
  EXPECT_FALSE(ok.refusal(partition).has_value()) << *ok.refusal(partition);
}
