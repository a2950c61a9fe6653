// The orchestrator's end of a pod's agent: connection::start_tcp to a real `troupe agent
// --listen` child with the run's token (what the k8s backend does for every pod), requests
// over it, and the agent ending once the connection closes; a wrong token is one sentence.

#include <chrono>

#include <gtest/gtest.h>

#include "backends/agent/connection.hpp"
#include "tests/support/listening_agent.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/sockets.hpp"
#include "tests/support/wait.hpp"

namespace {

namespace agent = troupe::backends::agent;
using namespace std::chrono_literals;
using troupe::test::connect_agent;
using troupe::test::listening_agent;

} // namespace

TEST(k8s_agent_tcp, the_token_opens_the_agent_and_closing_ends_it) {
  const auto dir = troupe::test::fresh_dir("k8s-agent-tcp");
  listening_agent a{dir};
  std::string error;
  auto c = connect_agent(a, "pod-token", &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->describe(), "the agent of pod test-0 at 127.0.0.1:" + std::to_string(a.port));
  auto probe = c->call("probe", {{"kind", "tcp"}, {"port", a.port}});
  EXPECT_TRUE(probe.is_object()) << probe.dump();
  c->close();
  EXPECT_EQ(troupe::test::wait_exit(a.pid, 30s), 0) << troupe::test::file_text(dir / "agent.log");
  a.pid = -1;
}

TEST(k8s_agent_tcp, a_wrong_token_is_refused_in_one_sentence_and_the_agent_waits_on) {
  const auto dir = troupe::test::fresh_dir("k8s-agent-tcp-token");
  listening_agent a{dir};
  std::string error;
  auto bad = connect_agent(a, "guess", &error);
  EXPECT_FALSE(bad);
  EXPECT_NE(error.find("the agent of pod test-0"), std::string::npos) << error;
  EXPECT_NE(error.find("token does not match"), std::string::npos) << error;
  auto good = connect_agent(a, "pod-token", &error);
  ASSERT_TRUE(good) << error;
  good->close();
}

TEST(k8s_agent_tcp, nobody_listening_is_one_sentence_naming_the_pod) {
  agent::tcp_agent_options ch;
  ch.address = "127.0.0.1";
  ch.port = static_cast<uint16_t>(troupe::test::free_port());
  ch.what = "the agent of pod miner-0";
  try {
    agent::connection::start_tcp(ch, nullptr);
    FAIL() << "connected to a closed port";
  } catch (const agent::agent_error& e) {
    EXPECT_NE(std::string(e.what()).find("the agent of pod miner-0 at 127.0.0.1:" +
                                         std::to_string(ch.port) + " does not accept connections"),
              std::string::npos)
      << e.what();
  }
}
