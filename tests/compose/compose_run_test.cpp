// The compose backend with real containers: a litecoin scenario with faults and a restart, an
// etcd cluster, every container, network and volume of the run gone afterwards.

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/compose/compose_helpers.hpp"

namespace {

namespace tc = troupe::test::compose;
using troupe::test::shell_quote;
using troupe::test::troupe_cli;

TEST(compose_run, litecoin_with_partitions_and_a_restart_passes) {
  if (auto why = tc::ready_daemon(); !why.empty())
    GTEST_SKIP() << why;
  auto dir = tc::run_dir("litecoin");
  auto o =
    troupe_cli("run scenarios/litecoin-compose.json --out " + shell_quote(dir.string()), 500);
  ASSERT_EQ(o.code, 0) << o.out;
  auto r = tc::read_json(dir / "report.json");
  EXPECT_EQ(r["verdict"], "pass");
  EXPECT_TRUE(r["refusals"].empty()) << r["refusals"].dump();
  std::vector<std::string> faults;
  for (const auto& f : r["faults"])
    faults.push_back(f.value("action", ""));
  EXPECT_EQ(faults, (std::vector<std::string>{"set_link", "partition", "partition (one-way)",
                                              "clog", "restart", "clock_skew"}));
  // Every peer link through a relay inside the dialer's container, and bytes through them.
  ASSERT_EQ(r["fabric"]["links"].size(), 12u);
  uint64_t relayed = 0;
  for (const auto& l : r["fabric"]["links"])
    relayed += l.value("bytes_relayed", uint64_t{0});
  EXPECT_GT(relayed, 0u);
  // Each node in its own container on the run network, its log's tail here.
  const auto& c = r["compose"];
  ASSERT_EQ(c["containers"].size(), 4u);
  for (const auto& n : c["containers"]) {
    const auto address = n.value("address", "");
    EXPECT_FALSE(address.empty() || address.rfind("127.", 0) == 0) << n.dump();
    EXPECT_TRUE(troupe::test::file_contains(dir / "nodes" / (n["node"].get<std::string>() + ".log"),
                                            "UpdateTip: new best="));
  }
  const auto left = tc::count_labelled(c["run_id"]);
  EXPECT_EQ(left.total(), 0u) << tc::describe(left);
}

TEST(compose_run, etcd_cluster_passes) {
  if (auto why = tc::ready_daemon(); !why.empty())
    GTEST_SKIP() << why;
  auto dir = tc::run_dir("etcd");
  auto o = troupe_cli(
    "run scenarios/etcd-local.json --backend compose --out " + shell_quote(dir.string()), 400);
  ASSERT_EQ(o.code, 0) << o.out;
  auto r = tc::read_json(dir / "report.json");
  EXPECT_EQ(r["verdict"], "pass");
  EXPECT_EQ(r["backend"], "compose");
  EXPECT_TRUE(r["refusals"].empty()) << r["refusals"].dump();
  const auto left = tc::count_labelled(r["compose"]["run_id"]);
  EXPECT_EQ(left.total(), 0u) << tc::describe(left);
}

// Node-side commands inside the containers reach the run's sync service through their agents'
// reverse tunnels (scenarios/etcd-sync-compose.json): a container cannot dial troupe's
// 127.0.0.1, so TROUPE_SYNC_URL names a port of the container's own agent. The three meet at a
// barrier, the restart waits for their signal, and a topic carries member-0's word to all.
TEST(compose_run, commands_in_the_containers_meet_at_a_barrier_through_their_agents_tunnels) {
  if (auto why = tc::ready_daemon(); !why.empty())
    GTEST_SKIP() << why;
  auto dir = tc::run_dir("etcd-sync");
  auto o =
    troupe_cli("run scenarios/etcd-sync-compose.json --out " + shell_quote(dir.string()), 400);
  ASSERT_EQ(o.code, 0) << o.out;
  auto r = tc::read_json(dir / "report.json");
  EXPECT_EQ(r["verdict"], "pass");
  EXPECT_TRUE(r["refusals"].empty()) << r["refusals"].dump();
  const auto log = troupe::test::file_text(dir / "troupe.log");
  const auto at = log.find("sync service on http://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << log;
  const std::string own = log.substr(at + 16, log.find(' ', at + 16) - (at + 16));
  std::map<std::string, size_t> ran;
  for (const auto& c : r["commands"]) {
    EXPECT_EQ(c["exit_code"], 0) << c.dump();
    const auto name = c["name"].get<std::string>();
    const auto tail = c["tail"].get<std::string>();
    ++ran[name];
    if (name == "meet") {
      EXPECT_NE(tail.find(c["node"].get<std::string>() + " met at http://127.0.0.1:"),
                std::string::npos)
        << tail;
      EXPECT_EQ(tail.find(own), std::string::npos)
        << "a container was handed troupe's own " << own << ": " << tail;
    } else if (name == "hear") {
      EXPECT_NE(tail.find("[\"member-0\",3]"), std::string::npos) << tail;
    }
  }
  EXPECT_EQ(ran, (std::map<std::string, size_t>{{"announce", 1}, {"hear", 3}, {"meet", 3}}))
    << r["commands"].dump(2);
  // The restart waited for the three commands' signal.
  std::vector<std::string> faults;
  for (const auto& f : r["faults"])
    faults.push_back(f.value("action", ""));
  EXPECT_EQ(faults, std::vector<std::string>{"restart"}) << r["faults"].dump();
  // Each container's agent carried its commands' connections: one per sync call at least.
  const auto& tunnels = r["compose"]["reverse_tunnels"];
  ASSERT_EQ(tunnels.size(), 3u) << r["compose"].dump(2);
  for (const auto& t : tunnels)
    EXPECT_GE(t["tunnels"]["opened"].get<int>(), 2) << t.dump();
  const auto left = tc::count_labelled(r["compose"]["run_id"]);
  EXPECT_EQ(left.total(), 0u) << tc::describe(left);
}

} // namespace
