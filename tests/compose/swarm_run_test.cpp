// The compose backend in swarm mode with real containers, on a one-node Swarm this test
// process makes on the test daemon (swarm_helpers.hpp): scenarios/etcd-swarm.json passes with
// a member restarted, every node port reached through the gateway; kill -9 of troupe mid-run
// and --keep leave nothing once the janitor, or the printed command, ran; a daemon in no
// swarm is one sentence naming `docker swarm init`, exit 2; the tasks' node-side commands reach
// the run's sync service through the gateway.

#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "tests/compose/swarm_helpers.hpp"
#include "tests/support/troupe_child.hpp"
#include "tests/support/wait.hpp"

namespace {

namespace tc = troupe::test::compose;
using namespace std::chrono_literals;
using troupe::test::shell_quote;
using troupe::test::troupe_cli;

TEST(swarm_run, etcd_example_passes_through_the_gateway_and_leaves_nothing) {
  if (auto why = tc::swarm().error(); !why.empty())
    GTEST_SKIP() << why;
  auto dir = tc::run_dir("swarm-etcd");
  auto o = troupe_cli("run scenarios/etcd-swarm.json --out " + shell_quote(dir.string()), 500);
  ASSERT_EQ(o.code, 0) << o.out;
  auto r = tc::read_json(dir / "report.json");
  EXPECT_EQ(r["verdict"], "pass");
  EXPECT_TRUE(r["refusals"].empty()) << r["refusals"].dump();
  std::vector<std::string> faults;
  for (const auto& f : r["faults"])
    faults.push_back(f.value("action", ""));
  EXPECT_EQ(faults, (std::vector<std::string>{"restart"}));
  const auto& c = r["compose"];
  EXPECT_EQ(c["mode"], "swarm");
  // Each member one task on the overlay; troupe reached each of them through the gateway.
  ASSERT_EQ(c["tasks"].size(), 3u) << c.dump();
  for (const auto& t : c["tasks"]) {
    const auto address = t.value("address", "");
    EXPECT_FALSE(address.empty() || address.rfind("127.", 0) == 0) << t.dump();
  }
  const auto& relays = c["gateway"]["fabric"]["links"];
  ASSERT_FALSE(relays.empty()) << c["gateway"].dump();
  size_t agents_reached = 0;
  for (const auto& l : relays) {
    const auto to = l.value("to", "");
    if (to.size() > 6 && to.compare(to.size() - 6, 6, "/agent") == 0 &&
        l.value("bytes_relayed", uint64_t{0}) > 0)
      ++agents_reached;
  }
  EXPECT_EQ(agents_reached, 3u) << relays.dump();
  for (const char* member : {"member-0", "member-1", "member-2"})
    EXPECT_TRUE(troupe::test::file_contains(dir / "nodes" / (std::string(member) + ".log"), "etcd"))
      << member;
  const auto left = tc::count_labelled(c["run_id"]);
  EXPECT_EQ(left.total(), 0u) << tc::describe(left);
}

// scenarios/etcd-sync-compose.json with only the backend's mode changed: the tasks' commands
// reach the run's sync service through reverse tunnels that travel, as the agents' own
// connections do, through the gateway's relays.
TEST(swarm_run, commands_in_the_tasks_meet_at_a_barrier_through_the_gateway) {
  if (auto why = tc::swarm().error(); !why.empty())
    GTEST_SKIP() << why;
  auto dir = tc::run_dir("swarm-sync");
  std::filesystem::create_directories(dir);
  auto s = tc::read_json(std::filesystem::path(troupe::test::source_dir()) /
                         "scenarios/etcd-sync-compose.json");
  s["backend"]["mode"] = "swarm";
  std::ofstream{dir / "scenario.json"} << s.dump(2);
  auto o = troupe_cli("run " + shell_quote((dir / "scenario.json").string()) + " --out " +
                        shell_quote((dir / "run").string()),
                      500);
  ASSERT_EQ(o.code, 0) << o.out;
  auto r = tc::read_json(dir / "run" / "report.json");
  EXPECT_EQ(r["verdict"], "pass");
  size_t ok = 0;
  for (const auto& c : r["commands"])
    ok += c["exit_code"] == 0;
  EXPECT_EQ(ok, 7u) << r["commands"].dump(2);
  ASSERT_EQ(r["compose"]["reverse_tunnels"].size(), 3u) << r["compose"].dump(2);
  for (const auto& t : r["compose"]["reverse_tunnels"])
    EXPECT_GE(t["tunnels"]["opened"].get<int>(), 2) << t.dump();
  const auto left = tc::count_labelled(r["compose"]["run_id"]);
  EXPECT_EQ(left.total(), 0u) << tc::describe(left);
}

class swarm_signal : public ::testing::TestWithParam<int> {};

// kill -9: troupe tears nothing down and its janitor sweeps the label; SIGTERM: troupe tears
// down itself, waiting for what Swarm removes asynchronously, before it exits.
TEST_P(swarm_signal, of_troupe_mid_run_leaves_no_service_container_network_volume_or_secret) {
  if (auto why = tc::swarm().error(); !why.empty())
    GTEST_SKIP() << why;
  auto dir = tc::run_dir("swarm-signal-" + std::to_string(GetParam()));
  auto log = dir.string() + ".log";
  auto pid = troupe::test::start_troupe_child(
    {"run", "scenarios/etcd-swarm.json", "--duration", "10m", "--out", dir.string()}, log);
  std::string id;
  ASSERT_TRUE(troupe::test::wait_until(
    [&] {
      id = tc::run_id_of(dir);
      return !id.empty() && troupe::test::file_contains(dir / "troupe.log", "deployed 3 nodes");
    },
    300s, 200ms))
    << troupe::test::file_text(log);
  // Deployed: three services, their three tasks' containers and the gateway, the overlay,
  // three volumes and the token's secret.
  const auto up = tc::count_labelled(id);
  EXPECT_EQ(up.services, 3u) << tc::describe(up);
  EXPECT_EQ(up.containers, 4u) << tc::describe(up);
  EXPECT_EQ(up.networks, 1u) << tc::describe(up);
  EXPECT_EQ(up.volumes, 3u) << tc::describe(up);
  EXPECT_EQ(up.secrets, 1u) << tc::describe(up);

  tc::expect_nothing_left_after(pid, GetParam(), dir, log, id, 300s, 240s);
}

INSTANTIATE_TEST_SUITE_P(swarm_run, swarm_signal, ::testing::Values(SIGKILL, SIGTERM),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return p.param == SIGKILL ? std::string("kill_9")
                                                     : std::string("sigterm");
                         });

TEST(swarm_run, keep_leaves_the_stack_and_prints_the_command_that_removes_it) {
  if (auto why = tc::swarm().error(); !why.empty())
    GTEST_SKIP() << why;
  auto dir = tc::run_dir("swarm-keep");
  auto o = troupe_cli("run scenarios/etcd-swarm.json --keep --duration 5s --quiet --out " +
                        shell_quote(dir.string()),
                      400);
  ASSERT_NE(o.code, 2) << o.out;
  const auto id = tc::run_id_of(dir);
  ASSERT_FALSE(id.empty()) << o.out;
  const auto kept = tc::count_labelled(id);
  EXPECT_EQ(kept.services, 3u) << tc::describe(kept);
  EXPECT_EQ(kept.containers, 4u) << tc::describe(kept);
  EXPECT_EQ(kept.volumes, 3u) << tc::describe(kept);
  tc::expect_printed_removal_leaves_nothing(o.out, id, 240);
}

} // namespace
