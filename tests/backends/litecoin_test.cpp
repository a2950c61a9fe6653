// Real litecoind nodes (Debian `litecoind`, regtest) under the local backend: a network
// that converges and includes transactions, a restart that rejoins and catches up, a
// partition by setban (without link relays) that separates tips and heals, and teardown that
// leaves no process. Faults through the link relays: litecoin_fabric_test.cpp.

#include <gtest/gtest.h>

#include "tests/backends/live_helpers.hpp"

using namespace troupe;
using namespace troupe::backends::testing;

namespace {

scenario litecoin(uint32_t count, double coeff = 0.3, bool relays = true) {
  return one_group(
    "litecoin-regtest", "validator", count,
    {{"slot", "500ms"}, {"active_slot_coeff", coeff}, {"finality_depth", 2}, {"utxos_per_node", 5}},
    {{"poll_interval", "200ms"}, {"fabric", relays}});
}

bool same_tip(caf::scoped_actor& self, const std::vector<node_handle>& nodes) {
  std::set<std::string> tips;
  for (auto& n : nodes) {
    auto st = status(self, n);
    if (!st.up)
      return false;
    tips.insert(st.tip);
  }
  return tips.size() == 1;
}

} // namespace

TEST(litecoin_local, three_nodes_converge_and_include_transactions) {
  live_run run{litecoin(3), "lt-converge"};
  run.deploy();
  ASSERT_EQ(run.dep.nodes.size(), 3u);
  caf::scoped_actor self{run.sys};
  for (auto& n : run.dep.nodes) {
    auto st = status(self, n);
    EXPECT_TRUE(st.up);
    EXPECT_GE(st.height, 101u) << "matured coinbase before the run";
    // Connections: both ends of a mesh edge dial. Deploy waits for every node on the funded
    // tip, which one connection each carries; the second may still be forming then.
    EXPECT_TRUE(eventually(30s, [&] { return status(self, n).peers >= 2u; }))
      << n.id << " has " << status(self, n).peers << " peers";
  }
  auto log = run.subscribe_all();
  std::set<std::string> sent;
  for (int i = 0; i < 6; ++i) {
    transaction tx{"tx-" + std::to_string(i), "user-" + std::to_string(i),
                   "user-" + std::to_string(i + 1), 50000, 250};
    auto ack = ask<tx_ack>(self, run.dep.nodes[i % 3].actor, submit_tx_atom::value, tx);
    EXPECT_TRUE(ack.accepted) << ack.reason;
    sent.insert(tx.id);
  }
  // Every node reports every transaction in a finalized block (2 deep).
  EXPECT_TRUE(eventually(90s, [&] {
    for (auto& n : run.dep.nodes)
      if (log->txs(n.id, block_event::finalized) != sent)
        return false;
    return true;
  }));
  EXPECT_TRUE(eventually(30s, [&] { return same_tip(self, run.dep.nodes); }));
  auto results = run.backend.results();
  EXPECT_GT(results["counters"]["blocks_produced"].get<uint64_t>(), 0u);
  EXPECT_EQ(results["counters"]["txs_accepted"].get<uint64_t>(), 6u);
  auto pids = run.backend.spawned_pids();
  EXPECT_EQ(pids.size(), 3u);
  run.backend.teardown();
  for (auto p : pids)
    EXPECT_FALSE(pid_alive(p)) << "orphan " << p;
  EXPECT_TRUE(fs::exists(run.env.run_dir / "nodes" / "validator-0.log"));
}

TEST(litecoin_local, a_restarted_node_rejoins_and_catches_up) {
  live_run run{litecoin(3), "lt-restart"};
  run.deploy();
  caf::scoped_actor self{run.sys};
  auto& node = run.dep.nodes[2];
  auto old_pid = run.backend.shared_world()->sup->pid(2);
  auto stop = ask<control_ack>(self, node.actor, control_atom::value, control_action::stop);
  ASSERT_TRUE(stop.ok) << stop.error;
  EXPECT_FALSE(pid_alive(old_pid));
  EXPECT_FALSE(status(self, node).up);
  // The others keep mining while it is down.
  auto before = status(self, run.dep.nodes[0]).height;
  ASSERT_TRUE(eventually(30s, [&] { return status(self, run.dep.nodes[0]).height >= before + 3; }));
  auto start = ask<control_ack>(self, node.actor, control_atom::value, control_action::start);
  ASSERT_TRUE(start.ok) << start.error;
  EXPECT_NE(run.backend.shared_world()->sup->pid(2), old_pid);
  EXPECT_TRUE(eventually(
    60s, [&] { return status(self, node).height >= before + 3 && same_tip(self, run.dep.nodes); }));
  // restart in one verb, too
  auto restart = ask<control_ack>(self, node.actor, control_atom::value, control_action::restart);
  EXPECT_TRUE(restart.ok) << restart.error;
  EXPECT_TRUE(status(self, node).up);
}

TEST(litecoin_local, partition_by_setban_separates_tips_and_heal_reconverges) {
  // Without link relays, litecoind's own peer controls cut whole connections.
  live_run run{litecoin(3, 0.4, false), "lt-partition"};
  run.deploy();
  caf::scoped_actor self{run.sys};
  auto& nodes = run.dep.nodes;
  partition_cmd cut{{{"validator-0"}, {"validator-1", "validator-2"}}, true};
  auto ack = ask<control_ack>(self, run.dep.fabric, partition_atom::value, cut);
  ASSERT_TRUE(ack.ok) << ack.error;
  EXPECT_TRUE(eventually(10s, [&] { return status(self, nodes[0]).peers == 0; }));
  auto h0 = status(self, nodes[0]).height;
  auto h1 = status(self, nodes[1]).height;
  // Both sides mine on their own: the tips part.
  EXPECT_TRUE(eventually(60s, [&] {
    auto a = status(self, nodes[0]);
    auto b = status(self, nodes[1]);
    return a.height >= h0 + 2 && b.height >= h1 + 2 && a.tip != b.tip;
  }));
  EXPECT_GE(status(self, nodes[1]).peers, 1u);
  auto heal = ask<control_ack>(self, run.dep.fabric, heal_atom::value);
  ASSERT_TRUE(heal.ok) << heal.error;
  EXPECT_TRUE(eventually(90s, [&] { return same_tip(self, nodes); }));
  // What needs the relays answers honestly without them.
  auto link = ask<control_ack>(self, run.dep.fabric, set_link_atom::value, link_cmd{});
  EXPECT_FALSE(link.ok);
  EXPECT_NE(link.error.find("link fabric is off"), std::string::npos) << link.error;
  partition_cmd one_way{{{"validator-0"}, {"validator-1", "validator-2"}}, false};
  auto refused = ask<control_ack>(self, run.dep.fabric, partition_atom::value, one_way);
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.error.find("one-way partitions need link relays"), std::string::npos)
    << refused.error;
}

TEST(litecoin_local, isolate_and_heal_one_node) {
  live_run run{litecoin(3, 0.4), "lt-isolate"};
  run.deploy();
  caf::scoped_actor self{run.sys};
  auto& nodes = run.dep.nodes;
  auto ack = ask<control_ack>(self, nodes[1].actor, control_atom::value, control_action::isolate);
  ASSERT_TRUE(ack.ok) << ack.error;
  EXPECT_TRUE(eventually(10s, [&] { return status(self, nodes[1]).peers == 0; }));
  auto heal = ask<control_ack>(self, nodes[1].actor, control_atom::value, control_action::heal);
  ASSERT_TRUE(heal.ok) << heal.error;
  EXPECT_TRUE(eventually(30s, [&] { return status(self, nodes[1]).peers >= 2; }));
  EXPECT_TRUE(eventually(60s, [&] { return same_tip(self, nodes); }));
  auto pause = ask<control_ack>(self, nodes[2].actor, control_atom::value, control_action::pause);
  EXPECT_TRUE(pause.ok);
  EXPECT_FALSE(status(self, nodes[2]).up);
  auto resume = ask<control_ack>(self, nodes[2].actor, control_atom::value, control_action::resume);
  EXPECT_TRUE(resume.ok);
  EXPECT_TRUE(eventually(10s, [&] { return status(self, nodes[2]).up; }));
}
