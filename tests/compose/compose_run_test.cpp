// The compose backend with real containers: a litecoin scenario with faults and a restart, an
// etcd cluster, every container, network and volume of the run gone afterwards.

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

} // namespace
