// Real litecoind nodes (regtest) through the link fabric: every peer connection goes through
// a relay, so set_link delays what litecoind itself measures (getpeerinfo pingtime), a
// partition lets 0 bytes across (the fabric's own counts), a one-way cut keeps connections
// and one direction while a two-way cut closes them, and a clog holds traffic without
// breaking a connection, then releases it so the nodes converge.

#include <algorithm>

#include <gtest/gtest.h>

#include "backends/adapters/bitcoin_rpc.hpp"
#include "tests/backends/live_helpers.hpp"

using namespace troupe;
using namespace troupe::backends;
using namespace troupe::backends::testing;

namespace {

scenario litecoin(uint32_t count, double coeff) {
  return one_group(
    "litecoin-regtest", "validator", count,
    {{"slot", "500ms"}, {"active_slot_coeff", coeff}, {"finality_depth", 2}, {"utxos_per_node", 2}},
    {{"poll_interval", "200ms"}});
}

std::unique_ptr<adapters::bitcoin_rpc> rpc(live_run& run, size_t i) {
  auto a = run.backend.shared_world()->make_adapter(i);
  auto* b = dynamic_cast<adapters::bitcoin_rpc*>(a.release());
  return std::unique_ptr<adapters::bitcoin_rpc>(b);
}

agent::link_stats link(live_run& run, const std::string& from, const std::string& to) {
  for (auto& s : run.backend.shared_world()->fabric->stats())
    if (s.from == from && s.to == to)
      return s;
  ADD_FAILURE() << "no relay between " << from << " and " << to;
  return {};
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

/// Bytes relayed from `a` to `b` and back.
uint64_t crossing(live_run& run, const std::string& a, const std::string& b) {
  return link(run, a, b).bytes_relayed + link(run, b, a).bytes_relayed;
}

} // namespace

TEST(litecoin_fabric, a_written_topology_link_shapes_every_relay_from_the_start) {
  auto s = litecoin(2, 0.2);
  s.topology.link.latency = 100ms;
  s.topology.link.jitter = 0ns;
  s.topology.link.given = true;
  live_run run{s, "lt-fabric-topology-link"};
  run.deploy();
  caf::scoped_actor self{run.sys};
  for (auto [a, b] : {std::pair{"validator-0", "validator-1"}, {"validator-1", "validator-0"}})
    EXPECT_EQ(link(run, a, b).shape.latency_ns, 100'000'000) << a << " -> " << b;
  // What litecoind measures itself: a ping's round trip crosses two 100 ms directions.
  auto r0 = rpc(run, 0);
  std::vector<double> pings;
  EXPECT_TRUE(eventually(60s,
                         [&] {
                           r0->call("ping");
                           pings.clear();
                           for (auto& peer : r0->call("getpeerinfo"))
                             if (peer.contains("pingtime"))
                               pings.push_back(peer["pingtime"].get<double>());
                           return !pings.empty() && std::all_of(pings.begin(), pings.end(),
                                                                [](double p) { return p >= 0.15; });
                         }))
    << "pings: " << ::testing::PrintToString(pings);
  // A set_link step changes what it names and keeps the rest of the written profile.
  link_cmd narrow;
  narrow.bandwidth_bps = 10'000'000;
  auto ack = ask<control_ack>(self, run.dep.fabric, set_link_atom::value, narrow);
  ASSERT_TRUE(ack.ok) << ack.error;
  auto l = link(run, "validator-0", "validator-1");
  EXPECT_EQ(l.shape.latency_ns, 100'000'000);
  EXPECT_EQ(l.shape.bandwidth_bps, 10'000'000);
}

TEST(litecoin_fabric, peers_dial_relays_and_set_link_latency_shows_in_pingtime) {
  live_run run{litecoin(3, 0.2), "lt-fabric-latency"};
  run.deploy();
  caf::scoped_actor self{run.sys};
  auto& w = *run.backend.shared_world();
  ASSERT_TRUE(w.fabric) << "litecoin-regtest names its peer port: relays are on by default";
  EXPECT_EQ(w.fabric->relay_count(), 6u) << "a mesh of 3: one relay per directed link";
  // Every connection litecoind made goes through a relay (its peers' addresses are relays).
  auto r0 = rpc(run, 0);
  std::set<std::string> relay_addrs;
  for (auto& [j, ep] : w.nodes[0].peer_endpoints)
    relay_addrs.insert(ep);
  for (auto& peer : r0->call("getpeerinfo")) {
    if (!peer.value("inbound", false)) {
      EXPECT_TRUE(relay_addrs.count(peer["addr"].get<std::string>())) << peer["addr"];
    }
  }
  EXPECT_GT(link(run, "validator-0", "validator-1").bytes_relayed, 0u);
  EXPECT_EQ(link(run, "validator-0", "validator-1").shape.latency_ns, 0)
    << "a link profile the scenario does not write (the simulator's 50 ms default) shapes "
       "nothing live";

  // 100 ms each way, no jitter: a ping's round trip is about 0.2 s.
  link_cmd slow;
  slow.latency_ns = 100'000'000;
  slow.jitter_ns = 0;
  auto ack = ask<control_ack>(self, run.dep.fabric, set_link_atom::value, slow);
  ASSERT_TRUE(ack.ok) << ack.error;
  r0->call("ping");
  std::vector<double> pings;
  EXPECT_TRUE(eventually(60s, [&] {
    pings.clear();
    for (auto& peer : r0->call("getpeerinfo"))
      if (peer.contains("pingtime"))
        pings.push_back(peer["pingtime"].get<double>());
    if (pings.empty())
      return false;
    for (auto p : pings)
      if (p < 0.15)
        return false;
    return true;
  }));
  for (auto p : pings) {
    EXPECT_GE(p, 0.15);
    EXPECT_LE(p, 1.0) << "a 100 ms link should not take a second";
  }
  auto l = link(run, "validator-0", "validator-1");
  EXPECT_EQ(l.shape.latency_ns, 100'000'000);
  uint64_t at_least_100ms = 0;
  for (size_t i = 0; i < agent::delay_buckets_ms.size(); ++i)
    if (agent::delay_buckets_ms[i] > 100)
      at_least_100ms += l.delay_counts[i];
  at_least_100ms += l.delay_counts.back();
  EXPECT_GT(at_least_100ms, 0u) << "the histogram shows the added delay";

  // Loss cannot be had on a byte stream: refused with the reason, nothing changed.
  link_cmd lossy;
  lossy.loss = 0.1;
  auto refused = ask<control_ack>(self, run.dep.fabric, set_link_atom::value, lossy);
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.error.find("packet loss"), std::string::npos) << refused.error;

  // Back to no added delay, then a clog: traffic both ways between validator-0 and the others
  // is held (nothing lost, no connection closed) and delivered when it runs out.
  link_cmd fast;
  fast.latency_ns = 0;
  ASSERT_TRUE(ask<control_ack>(self, run.dep.fabric, set_link_atom::value, fast).ok);
  clog_cmd clog{{"validator-0"}, {"validator-1", "validator-2"}, 5'000'000'000};
  auto cut_before = link(run, "validator-0", "validator-1").connections_cut;
  ASSERT_TRUE(ask<control_ack>(self, run.dep.fabric, clog_atom::value, clog).ok);
  EXPECT_TRUE(eventually(20s,
                         [&] {
                           return link(run, "validator-1", "validator-0").bytes_held +
                                    link(run, "validator-0", "validator-1").bytes_held >
                                  0;
                         }))
    << "blocks and pings wait in the relays";
  EXPECT_TRUE(eventually(30s,
                         [&] {
                           return link(run, "validator-1", "validator-0").bytes_held == 0 &&
                                  link(run, "validator-0", "validator-1").bytes_held == 0;
                         }))
    << "the clog ran out and released what it held";
  auto held = link(run, "validator-0", "validator-1");
  auto back = link(run, "validator-1", "validator-0");
  EXPECT_GT(held.bytes_held_total + back.bytes_held_total, 0u);
  EXPECT_EQ(held.connections_cut, cut_before) << "a clog closes no connection";
  EXPECT_EQ(held.bytes_dropped + back.bytes_dropped, 0u) << "a clog loses nothing";
  EXPECT_TRUE(eventually(60s, [&] { return same_tip(self, run.dep.nodes); }));
  auto results = run.backend.results();
  ASSERT_TRUE(results.contains("fabric"));
  EXPECT_EQ(results["fabric"]["links"].size(), 6u);
}

TEST(litecoin_fabric, partitions_are_airtight_and_one_way_differs_from_two_way) {
  live_run run{litecoin(3, 0.4), "lt-fabric-partition"};
  run.deploy();
  caf::scoped_actor self{run.sys};
  auto& nodes = run.dep.nodes;

  // Two-way: validator-0 against the others. Its connections close, 0 bytes cross while the
  // cut holds, both sides mine on their own and their tips part.
  partition_cmd cut{{{"validator-0"}, {"validator-1", "validator-2"}}, true};
  auto ack = ask<control_ack>(self, run.dep.fabric, partition_atom::value, cut);
  ASSERT_TRUE(ack.ok) << ack.error;
  // From the acknowledgement on, nothing crosses.
  auto across =
    crossing(run, "validator-0", "validator-1") + crossing(run, "validator-0", "validator-2");
  EXPECT_TRUE(eventually(20s, [&] { return status(self, nodes[0]).peers == 0; }));
  auto h0 = status(self, nodes[0]).height;
  auto h1 = status(self, nodes[1]).height;
  EXPECT_TRUE(eventually(60s, [&] {
    auto a = status(self, nodes[0]);
    auto b = status(self, nodes[1]);
    return a.height >= h0 + 2 && b.height >= h1 + 2 && a.tip != b.tip;
  }));
  // litecoind retries its added nodes every 60 s once it has tried them (2 s before), so the
  // redial may come a minute after the cut however fast the tips parted.
  EXPECT_TRUE(eventually(90s,
                         [&] {
                           return link(run, "validator-0", "validator-1").connections_refused +
                                    link(run, "validator-1", "validator-0").connections_refused >
                                  0;
                         }))
    << "litecoind dials again (its added-node retry), and the attempt is closed at once";
  EXPECT_EQ(crossing(run, "validator-0", "validator-1") +
              crossing(run, "validator-0", "validator-2"),
            across)
    << "0 bytes cross a partition";
  EXPECT_GE(status(self, nodes[1]).peers, 1u) << "the majority side still talks";
  ASSERT_TRUE(ask<control_ack>(self, run.dep.fabric, heal_atom::value).ok);
  EXPECT_TRUE(eventually(90s, [&] { return same_tip(self, nodes); }));
  EXPECT_TRUE(eventually(30s, [&] { return status(self, nodes[0]).peers >= 2; }));

  // One-way: validator-0's bytes to the others are dropped, theirs reach it. Unlike the
  // two-way cut, its connections stay open, and bytes keep crossing in one direction only.
  partition_cmd one_way{{{"validator-0"}, {"validator-1", "validator-2"}}, false};
  ASSERT_TRUE(ask<control_ack>(self, run.dep.fabric, partition_atom::value, one_way).ok);
  auto out_before = link(run, "validator-0", "validator-1").bytes_relayed;
  auto in_before = link(run, "validator-1", "validator-0").bytes_relayed;
  auto dropped_before = link(run, "validator-0", "validator-1").bytes_dropped;
  EXPECT_TRUE(
    eventually(60s,
               [&] {
                 return link(run, "validator-1", "validator-0").bytes_relayed > in_before &&
                        link(run, "validator-0", "validator-1").bytes_dropped > dropped_before;
               }))
    << "blocks flow to validator-0; what it sends back is dropped";
  EXPECT_EQ(link(run, "validator-0", "validator-1").bytes_relayed, out_before)
    << "0 bytes in the cut direction";
  EXPECT_GE(status(self, nodes[0]).peers, 2u) << "a one-way cut closes no connection";
  ASSERT_TRUE(ask<control_ack>(self, run.dep.fabric, heal_atom::value).ok);
  // The connections that lost bytes are closed at the heal, and the nodes reconnect.
  EXPECT_GT(link(run, "validator-0", "validator-1").connections_cut +
              link(run, "validator-1", "validator-0").connections_cut,
            0u);
  EXPECT_TRUE(eventually(90s, [&] { return same_tip(self, nodes); }));

  // isolate / heal of one node go through the relays too.
  ASSERT_TRUE(
    ask<control_ack>(self, nodes[2].actor, control_atom::value, control_action::isolate).ok);
  EXPECT_TRUE(eventually(20s, [&] { return status(self, nodes[2]).peers == 0; }));
  ASSERT_TRUE(ask<control_ack>(self, nodes[2].actor, control_atom::value, control_action::heal).ok);
  EXPECT_TRUE(eventually(30s, [&] { return status(self, nodes[2]).peers >= 2; }));
}
