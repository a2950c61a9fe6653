// Network namespaces leave nothing behind: after SIGINT, SIGTERM or SIGKILL to a running
// `troupe run` of an etcd cluster, and after a deploy that fails, `ip netns list` shows none of the
// run's namespaces (named troupe-<run tag>-<index>, so the test tells its own from others').

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "actors/errors.hpp"
#include "backends/agent/netns.hpp"
#include "tests/backends/live_helpers.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/troupe_child.hpp"

using namespace troupe;
using namespace troupe::backends;
using namespace troupe::backends::testing;

namespace {

std::string netns_list() {
  std::string out;
  if (FILE* p = ::popen("ip netns list 2>&1", "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof(buf), p))
      out += buf;
    ::pclose(p);
  }
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in{p};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

using troupe::test::wait_exit;

/// `troupe run` of the etcd example into a fresh `out`, once its 3 nodes are deployed.
struct deployed_etcd {
  fs::path out;
  pid_t pid = -1;
  std::string mine; ///< the prefix of this run's namespace names

  explicit deployed_etcd(const std::string& name)
    : out(temp_run_dir(name)) {
    fs::remove_all(out); // troupe creates it
    pid = troupe::test::start_troupe_child(
      {"run", troupe::test::source_dir() + "/scenarios/etcd-local.json", "--out", out.string()},
      out.string() + ".log");
    mine = "troupe-" + agent::run_tag(out) + "-";
  }
  bool deployed() const {
    return eventually(60s, [&] {
      return read_file(out / "troupe.log").find("deployed 3 nodes") != std::string::npos;
    });
  }
};

} // namespace

TEST(netns_teardown, sigint_and_sigterm_remove_every_namespace_of_the_run) {
  if (agent::netns_refusal())
    GTEST_SKIP() << *agent::netns_refusal();
  for (int sig : {SIGINT, SIGTERM}) {
    deployed_etcd run{"netns-signal-" + std::to_string(sig)};
    ASSERT_TRUE(run.deployed()) << read_file(run.out.string() + ".log");
    EXPECT_NE(netns_list().find(run.mine + "2"), std::string::npos) << netns_list();
    ::kill(run.pid, sig);
    EXPECT_NE(wait_exit(run.pid, 60s), -1) << "troupe exits after signal " << sig;
    EXPECT_EQ(netns_list().find(run.mine), std::string::npos) << "signal " << sig << ":\n"
                                                              << netns_list();
  }
}

TEST(netns_teardown, kill_9_of_troupe_removes_every_namespace_of_the_run) {
  if (agent::netns_refusal())
    GTEST_SKIP() << *agent::netns_refusal();
  deployed_etcd run{"netns-kill-9"};
  ASSERT_TRUE(run.deployed()) << read_file(run.out.string() + ".log");
  ASSERT_NE(netns_list().find(run.mine + "2"), std::string::npos) << netns_list();
  // Nothing of troupe runs after SIGKILL: the namespaces' janitor, in its own session, sees
  // its pipe close and removes them.
  ::kill(run.pid, SIGKILL);
  EXPECT_EQ(wait_exit(run.pid, 30s), 128 + SIGKILL);
  EXPECT_TRUE(eventually(30s, [&] { return netns_list().find(run.mine) == std::string::npos; }))
    << netns_list();
}

TEST(netns_teardown, a_failed_deploy_removes_its_namespaces) {
  if (agent::netns_refusal())
    GTEST_SKIP() << *agent::netns_refusal();
  auto dir = temp_run_dir("netns-failed-program");
  // etcd refuses an unknown flag and exits while starting: the deploy fails.
  auto prog = program_variant("etcd", dir,
                              [](nlohmann::json& doc) { doc["args"].push_back("--no-such-flag"); });
  live_run run{one_group(prog, "member", 3), "netns-failed"};
  auto mine = "troupe-" + agent::run_tag(run.env.run_dir) + "-";
  try {
    run.deploy();
    ADD_FAILURE() << "the deploy should fail";
  } catch (const user_error& e) {
    EXPECT_NE(std::string(e.what()).find("exited while starting"), std::string::npos) << e.what();
  }
  EXPECT_EQ(netns_list().find(mine), std::string::npos) << netns_list();
}

TEST(netns_teardown, without_root_network_faults_on_etcd_are_refused_with_the_reason) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to run troupe as another user";
  auto dir = temp_run_dir("netns-not-root");
  auto file = dir / "etcd-partition.json";
  std::ofstream{file} << R"({"name": "etcd-partition", "duration": "4s",
    "topology": {"layout": {"kind": "mesh"},
                 "groups": [{"name": "member", "count": 3, "node": {"program": "etcd"}}]},
    "backend": {"name": "local"},
    "workloads": [{"kind": "steps", "steps": [
      {"at": "1s", "action": "partition", "sides": [["member-0"], ["member-1", "member-2"]]}]}]})";
  fs::permissions(dir, fs::perms::all, fs::perm_options::add);
  auto out = dir / "out.txt";
  auto cmd = "setpriv --reuid=65534 --regid=65534 --clear-groups " + troupe::test::troupe_binary() +
             " validate " + file.string() + " --backend local --strict > " + out.string() + " 2>&1";
  int status = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 2) << read_file(out);
  EXPECT_NE(read_file(out).find("network namespaces need root"), std::string::npos)
    << read_file(out);
}
