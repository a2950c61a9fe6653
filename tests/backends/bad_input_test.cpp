// Bad input under the local backend: each case is one clear error (exit code 2), and the
// nodes that did start are torn down.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "actors/errors.hpp"
#include "tests/backends/live_helpers.hpp"
#include "tests/support/sockets.hpp"

using namespace troupe;
using namespace troupe::backends::testing;

namespace {

/// Deploys `program` (a file path) on `count` nodes and returns the user_error it raises.
std::string deploy_error(const std::string& name, const std::string& program, uint32_t count,
                         std::vector<pid_t>* pids = nullptr) {
  live_run run{one_group(program, "validator", count), name};
  try {
    run.deploy();
  } catch (const user_error& e) {
    EXPECT_EQ(e.code(), exit_bad_input);
    EXPECT_TRUE(run.backend.live_pids().empty()) << "teardown after a failed deploy";
    for (auto p : run.backend.spawned_pids()) {
      EXPECT_FALSE(pid_alive(p));
      if (pids)
        pids->push_back(p);
    }
    return e.what();
  }
  ADD_FAILURE() << "deploy succeeded";
  return {};
}

} // namespace

TEST(local_bad_input, missing_binary_names_the_debian_package) {
  auto dir = temp_run_dir("bad-binary-prog");
  auto prog = program_variant("litecoin-regtest", dir,
                              [](nlohmann::json& p) { p["binary"] = "troupe-no-such-litecoind"; });
  auto msg = deploy_error("bad-binary", prog, 2);
  EXPECT_NE(msg.find("troupe-no-such-litecoind"), std::string::npos) << msg;
  EXPECT_NE(msg.find("install the Debian package litecoind"), std::string::npos) << msg;
}

TEST(local_bad_input, busy_port_is_named) {
  troupe::test::busy_port held;
  ASSERT_NE(held.port, 0);
  auto busy = held.port;
  auto dir = temp_run_dir("bad-port-prog");
  auto prog = program_variant("litecoin-regtest", dir,
                              [&](nlohmann::json& p) { p["ports"]["rpc_port"] = busy; });
  auto msg = deploy_error("bad-port", prog, 1);
  EXPECT_NE(
    msg.find("port " + std::to_string(busy) + " (rpc_port of validator-0) is already in use"),
    std::string::npos)
    << msg;
}

TEST(local_bad_input, node_that_dies_at_start_shows_its_last_log_lines) {
  auto dir = temp_run_dir("bad-dies-prog");
  auto prog = program_variant("litecoin-regtest", dir,
                              [](nlohmann::json& p) { p["args"].push_back("-thisisnotanoption"); });
  std::vector<pid_t> pids;
  auto msg = deploy_error("bad-dies", prog, 2, &pids);
  EXPECT_NE(msg.find("exited while starting (exit code 1)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("thisisnotanoption"), std::string::npos) << "the log line: " << msg;
  EXPECT_FALSE(pids.empty());
}

TEST(local_bad_input, readiness_timeout_names_the_probe) {
  auto dir = temp_run_dir("bad-ready-prog");
  auto prog = program_variant("litecoin-regtest", dir, [](nlohmann::json& p) {
    p["ports"]["never_port"] = "auto";
    p["ready"] = {{"probe", "tcp"}, {"port", "never_port"}, {"timeout", "1s"}};
  });
  auto msg = deploy_error("bad-ready", prog, 1);
  EXPECT_NE(msg.find("was not ready after 1s (probe: tcp on port"), std::string::npos) << msg;
  EXPECT_NE(msg.find("ready_timeout"), std::string::npos) << "names the fix: " << msg;
}

TEST(local_bad_input, rpc_errors_are_reported) {
  auto dir = temp_run_dir("bad-rpc-prog");
  auto prog = program_variant("litecoin-regtest", dir, [](nlohmann::json& p) {
    p["adapter"]["password"] = "wrong";
    p["ready"]["timeout"] = "3s";
  });
  auto msg = deploy_error("bad-rpc", prog, 1);
  EXPECT_NE(msg.find("RPC status to validator-0 failed: HTTP 401"), std::string::npos) << msg;
}

TEST(local_bad_input, a_group_without_a_program_is_refused) {
  auto s = one_group("", "validator", 1);
  s.topology.groups[0].node.model = "chain";
  auto msg = [&] {
    live_run run{s, "bad-noprog"};
    try {
      run.deploy();
    } catch (const user_error& e) {
      return std::string(e.what());
    }
    return std::string{};
  }();
  EXPECT_NE(msg.find("group validator has no node program"), std::string::npos) << msg;
}
