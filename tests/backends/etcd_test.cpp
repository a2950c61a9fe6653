// A real etcd cluster (Debian `etcd-server`) under the local backend, through the generic
// http-json adapter: writes as transactions, revision as height, a member restart survived.

#include <gtest/gtest.h>

#include "tests/backends/live_helpers.hpp"

using namespace troupe;
using namespace troupe::backends::testing;

TEST(etcd_local, cluster_survives_a_member_restart) {
  auto sc = one_group("etcd", "member", 3, nlohmann::json::object(), {{"poll_interval", "200ms"}});
  // Scraped throughout, restart included: the program's default series.
  sc.topology.groups[0].scrape = scrape_config{std::chrono::milliseconds(250), {}};
  live_run run{sc, "etcd-restart"};
  run.deploy();
  caf::scoped_actor self{run.sys};
  auto& nodes = run.dep.nodes;
  auto log = run.subscribe_all();
  std::set<std::string> sent;
  auto write = [&](int i, size_t node) {
    transaction tx{"w-" + std::to_string(i), "user-a", "user-b", 1, 64};
    auto ack = ask<tx_ack>(self, nodes[node].actor, submit_tx_atom::value, tx);
    EXPECT_TRUE(ack.accepted) << ack.reason;
    sent.insert(tx.id);
  };
  for (int i = 0; i < 10; ++i)
    write(i, static_cast<size_t>(i) % 3);
  for (auto& n : nodes) {
    auto st = status(self, n);
    EXPECT_TRUE(st.up);
    EXPECT_EQ(st.peers, 3u) << "members";
  }
  auto restart =
    ask<control_ack>(self, nodes[1].actor, control_atom::value, control_action::restart);
  ASSERT_TRUE(restart.ok) << restart.error;
  for (int i = 10; i < 20; ++i)
    write(i, static_cast<size_t>(i) % 3);
  EXPECT_TRUE(eventually(30s, [&] {
    std::set<std::string> tips;
    for (auto& n : nodes) {
      auto st = status(self, n);
      if (!st.up || st.height < 20)
        return false;
      tips.insert(st.tip);
    }
    return tips.size() == 1;
  }));
  // Every write is reported in a finalized "block" (a revision) on every member.
  EXPECT_TRUE(eventually(10s, [&] {
    for (auto& n : nodes)
      if (log->txs(n.id, block_event::finalized) != sent)
        return false;
    return true;
  }));
  // Network faults work for etcd too: each member in its own network namespace, its peer
  // connections redirected into the link relays (node_namespaces.hpp).
  auto iso = ask<control_ack>(self, nodes[0].actor, control_atom::value, control_action::isolate);
  EXPECT_TRUE(iso.ok) << iso.error;
  // A heal lifts it.
  auto heal = ask<control_ack>(self, nodes[0].actor, control_atom::value, control_action::heal);
  EXPECT_TRUE(heal.ok) << heal.error;
  auto pids = run.backend.spawned_pids();
  EXPECT_EQ(pids.size(), 4u);
  run.backend.teardown();
  for (auto p : pids)
    EXPECT_FALSE(pid_alive(p));
  // Every member answered scrapes; a member down or not yet listening during its restart is
  // counted (skipped or failed), never an error of the run.
  auto pm = run.backend.results()["program_metrics"];
  ASSERT_TRUE(pm.is_object());
  for (auto id : {"member-0", "member-1", "member-2"}) {
    const auto& counts = pm["scrapes"]["nodes"][id];
    EXPECT_GT(counts["ok"].get<uint64_t>(), 0u) << id;
    EXPECT_TRUE(counts.contains("skipped_down") && counts.contains("failed")) << id;
    const auto& n = pm["series"]["etcd_server_proposals_committed_total"]["nodes"][id];
    EXPECT_GT(n["increase"].get<double>(), 0) << id << n.dump();
  }
  // The default series (etcd.json's metrics.series) are the ones scraped.
  for (auto name : {"etcd_server_leader_changes_seen_total", "etcd_mvcc_db_total_size_in_bytes",
                    "etcd_network_peer_sent_bytes_total"})
    EXPECT_GT(pm["series"][name]["total"]["nodes_with_samples"].get<uint64_t>(), 0u) << name;
}
