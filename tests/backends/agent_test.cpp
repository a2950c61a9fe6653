// The agent through its protocol, in-process (a host_agent on a thread over a socketpair)
// and as a child `troupe agent --stdio`: node processes, relays, and what happens when the
// orchestrator goes away.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "backends/agent/connection.hpp"
#include "backends/agent/payloads.hpp"
#include "backends/agent/protocol.hpp"
#include "backends/agent/remote_fabric.hpp"
#include "backends/agent/remote_supervisor.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/sockets.hpp"
#include "tests/support/wait.hpp"

using namespace troupe::backends;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// A remote supervisor over a fresh connection (child or in-process).
struct remote_host {
  std::shared_ptr<agent::remote_supervisor> sup = std::make_shared<agent::remote_supervisor>();
  std::shared_ptr<agent::connection> conn;
  fs::path dir;

  remote_host(bool child, const std::string& name)
    : dir(troupe::test::fresh_dir(name)) {
    auto s = sup;
    auto on_event = [s](const nlohmann::json& e) { s->on_event(e); };
    if (child) {
      agent::child_agent_options o;
      o.binary = troupe::test::troupe_binary();
      o.log_path = dir / "agent.log";
      o.pid_path = dir / "agent.pid";
      conn = agent::connection::start_child(o, on_event);
    } else {
      conn = agent::connection::start_in_process(on_event);
    }
    sup->attach(conn);
  }
  ~remote_host() {
    if (conn)
      conn->close();
  }

  size_t add_sleep(const std::string& id) {
    local::process_options o;
    o.id = id;
    o.binary = "/bin/sleep";
    o.args = {"300"};
    o.cwd = dir / id;
    o.log_path = dir / (id + ".log");
    o.pid_path = dir / (id + ".pid");
    return sup->add(o, 2s);
  }
};

bool gone(pid_t pid) {
  // A zombie is gone too: whoever reaps it (init in a container may be slow) is not ours.
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text;
  if (!std::getline(stat, text))
    return true;
  auto close = text.rfind(')');
  return close == std::string::npos || text.substr(close + 2, 1) == "Z";
}

} // namespace

TEST(agent, in_process_relays_report_their_links) {
  remote_host h{false, "agent-relays"};
  agent::remote_fabric f{h.conn, 1};
  auto p1 = f.add_relay("a", "b", 1);
  auto p2 = f.add_relay("b", "a", 2);
  EXPECT_NE(p1, 0);
  EXPECT_NE(p2, p1);
  f.start();
  f.apply({{agent::link_change::cut, "a", "b", {}}});
  auto stats = f.stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].from, "a");
  EXPECT_EQ(stats[0].mode, agent::link_mode::cut);
  EXPECT_EQ(stats[1].mode, agent::link_mode::open);
  f.stop();
  EXPECT_EQ(f.stats().size(), 2u) << "the last stats outlive the relays";
  EXPECT_EQ(f.stats_json()["relays"], 2);
}

TEST(agent, child_runs_and_signals_nodes_in_their_own_process_groups) {
  remote_host h{true, "agent-child-nodes"};
  ASSERT_NE(h.conn->agent_pid(), ::getpid());
  auto a = h.add_sleep("a");
  h.sup->start(a);
  EXPECT_EQ(h.sup->state(a), local::process_state::running) << "the started event came first";
  const pid_t pid = h.sup->pid(a);
  EXPECT_EQ(::getpgid(pid), pid);
  EXPECT_TRUE(h.sup->pause(a));
  EXPECT_EQ(h.sup->state(a), local::process_state::paused);
  EXPECT_TRUE(h.sup->resume(a));
  EXPECT_TRUE(h.sup->stop(a, 2s));
  EXPECT_EQ(h.sup->state(a), local::process_state::exited);
  EXPECT_NE(h.sup->exit_description(a).find("signal 15"), std::string::npos)
    << h.sup->exit_description(a);
  // Respawn on the same slot (and data dir): a new PID.
  h.sup->start(a);
  EXPECT_NE(h.sup->pid(a), pid);
  EXPECT_NE(h.sup->log_tail(a, 5).find("troupe: started /bin/sleep"), std::string::npos);
  EXPECT_EQ(h.sup->all_pids().size(), 2u);
}

TEST(agent, a_node_that_exits_on_its_own_is_reported) {
  remote_host h{false, "agent-exit-event"};
  local::process_options o;
  o.id = "f";
  o.binary = "/bin/false";
  o.cwd = h.dir / "f";
  o.log_path = h.dir / "f.log";
  o.pid_path = h.dir / "f.pid";
  auto slot = h.sup->add(o);
  h.sup->start(slot);
  EXPECT_TRUE(h.sup->wait_exit(slot, 10s));
  EXPECT_EQ(h.sup->exit_description(slot), "exit code 1");
}

TEST(agent, the_end_of_the_stream_stops_every_node_and_the_agent) {
  remote_host h{true, "agent-eof"};
  std::vector<pid_t> pids;
  for (auto id : {"a", "b", "c"}) {
    auto slot = h.add_sleep(id);
    h.sup->start(slot);
    pids.push_back(h.sup->pid(slot));
  }
  const pid_t agent_pid = h.conn->agent_pid();
  // As after kill -9 of troupe: the stream ends without a stop_all.
  h.conn->close();
  EXPECT_TRUE(troupe::test::wait_until(
    [&] {
      for (auto p : pids)
        if (!gone(p))
          return false;
      return gone(agent_pid);
    },
    20s));
  EXPECT_FALSE(fs::exists(h.dir / "agent.pid"));
  std::ifstream log{h.dir / "agent.log"};
  std::string text{std::istreambuf_iterator<char>(log), {}};
  EXPECT_NE(text.find("the orchestrator went away"), std::string::npos) << text;
}

TEST(agent, a_missing_agent_binary_is_one_sentence) {
  agent::child_agent_options o;
  o.binary = "/nonexistent/troupe";
  try {
    agent::connection::start_child(o, {});
    FAIL() << "no error";
  } catch (const agent::agent_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/troupe is missing or not executable"),
              std::string::npos)
      << e.what();
  }
}

TEST(agent, an_agent_that_exits_at_hello_is_one_sentence) {
  auto dir = troupe::test::fresh_dir("agent-exits-at-hello");
  agent::child_agent_options o;
  o.binary = "/bin/false"; // runs, ignores its arguments, exits 1 before any hello
  o.log_path = dir / "agent.log";
  try {
    agent::connection::start_child(o, {});
    FAIL() << "no error";
  } catch (const agent::agent_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("ended the stream"), std::string::npos) << what;
    EXPECT_NE(what.find("exit code 1"), std::string::npos) << what;
  }
}

TEST(agent, refusals_are_error_replies_with_the_reason) {
  remote_host h{false, "agent-refusals"};
  try {
    h.conn->call("no_such_op");
    FAIL() << "no error";
  } catch (const agent::agent_error& e) {
    EXPECT_STREQ(e.what(), "this agent has no op \"no_such_op\"");
  }
  try {
    h.conn->call("start", {{"slot", 7}});
    FAIL() << "no error";
  } catch (const agent::agent_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad arguments to start"), std::string::npos) << e.what();
  }
}

TEST(agent, probes_run_on_the_agents_host) {
  remote_host h{true, "agent-probe"};
  // A listening socket on 127.0.0.1, and the same port once it is closed.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  auto up = h.conn->call("probe", {{"kind", "tcp"}, {"port", port}});
  EXPECT_TRUE(up["ready"].get<bool>()) << up.dump();
  ::close(fd);
  auto down = h.conn->call("probe", {{"kind", "tcp"}, {"port", port}});
  EXPECT_FALSE(down["ready"].get<bool>());
  EXPECT_NE(down["error"].get<std::string>().find("Connection refused"), std::string::npos)
    << down.dump();
  auto http = h.conn->call("probe", {{"kind", "http"}, {"port", port}, {"path", "/health"}});
  EXPECT_FALSE(http["ready"].get<bool>());
  EXPECT_NE(http["error"].get<std::string>().find("GET /health"), std::string::npos) << http.dump();
}

TEST(agent, kill_9_of_the_agent_takes_its_nodes_and_says_so) {
  remote_host h{true, "agent-kill9"};
  auto a = h.add_sleep("a");
  h.sup->start(a);
  const pid_t node = h.sup->pid(a);
  ::kill(h.conn->agent_pid(), SIGKILL);
  // The nodes' parent-death signal is the agent's supervisor thread.
  EXPECT_TRUE(troupe::test::wait_until([&] { return gone(node); }, 20s));
  EXPECT_TRUE(h.sup->wait_exit(a, 20s));
  EXPECT_NE(h.sup->exit_description(a).find("lost with its agent"), std::string::npos)
    << h.sup->exit_description(a);
  EXPECT_FALSE(h.sup->pause(a)) << "a control after the agent is gone fails";
}

namespace {

uint16_t free_port() { return static_cast<uint16_t>(troupe::test::free_port()); }

/// Sends a hello with `token` on a new connection; the agent's first answer.
nlohmann::json hello_with(int fd, const std::string& token) {
  auto hello = agent::hello_message();
  hello["token"] = token;
  EXPECT_TRUE(agent::write_all(fd, agent::encode_frame(hello)));
  agent::frame_reader r;
  auto m = agent::read_frame(fd, r);
  return m ? *m : nlohmann::json{};
}

} // namespace

TEST(agent, listen_serves_one_orchestrator_with_the_token) {
  auto dir = troupe::test::fresh_dir("agent-listen");
  std::ofstream{dir / "token"} << "s3cret\n";
  const auto port = free_port();
  std::vector<std::string> args{troupe::test::troupe_binary(),
                                "agent",
                                "--listen",
                                "127.0.0.1:" + std::to_string(port),
                                "--token-file",
                                (dir / "token").string(),
                                "--log-file",
                                (dir / "agent.log").string()};
  pid_t agent_pid = ::fork();
  if (agent_pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  // An assertion that ends the test early must not leave the agent listening.
  struct reaper {
    pid_t pid;
    bool reaped = false;
    ~reaper() {
      if (!reaped) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  } guard{agent_pid};
  int fd = -1;
  ASSERT_TRUE(
    troupe::test::wait_until([&] { return (fd = troupe::test::dial_loopback(port)) >= 0; }, 10s));
  auto refused = hello_with(fd, "guess");
  EXPECT_EQ(refused["type"], "error");
  EXPECT_NE(refused.value("reason", "").find("token does not match"), std::string::npos)
    << refused.dump();
  ::close(fd);
  // The refused connection started nothing; the agent waits for the next one.
  ASSERT_TRUE(
    troupe::test::wait_until([&] { return (fd = troupe::test::dial_loopback(port)) >= 0; }, 10s));
  auto hello = hello_with(fd, "s3cret");
  EXPECT_EQ(hello["type"], "hello") << hello.dump();
  local::process_options o;
  o.id = "a";
  o.binary = "/bin/sleep";
  o.args = {"300"};
  o.cwd = dir / "a";
  o.log_path = dir / "a.log";
  o.pid_path = dir / "a.pid";
  ASSERT_TRUE(agent::write_all(
    fd, agent::encode_frame(agent::request_message(1, "add_node", to_json(agent::node_spec{o})))));
  ASSERT_TRUE(
    agent::write_all(fd, agent::encode_frame(agent::request_message(2, "start", {{"slot", 0}}))));
  agent::frame_reader r;
  pid_t node = -1;
  for (int i = 0; i < 3 && node < 0; ++i) {
    auto m = agent::read_frame(fd, r);
    ASSERT_TRUE(m);
    if ((*m)["type"] == "event" && (*m)["event"] == "node_started")
      node = (*m)["pid"].get<pid_t>();
  }
  ASSERT_GT(node, 0);
  ::close(fd); // the orchestrator goes away
  EXPECT_TRUE(troupe::test::wait_until([&] { return gone(node); }, 20s));
  int status = 0;
  EXPECT_TRUE(troupe::test::wait_until(
    [&] { return guard.reaped = ::waitpid(agent_pid, &status, WNOHANG) == agent_pid; }, 20s));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}
