// The simulated world: determinism, network properties, faults, node lifecycle, clocks.

#include "sim/world.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <gtest/gtest.h>

#include "tests/sim/test_models.hpp"

using namespace std::chrono_literals;
using namespace troupe::sim;
using troupe::node_status;
using troupe::transaction;
using troupe::tx_ack;
using troupe::sim::testing::hop_model;
using troupe::sim::testing::lambda_model;

namespace {

link_options fast_link() {
  link_options l;
  l.latency = 1ms;
  l.jitter = 50ms;
  return l;
}

uint64_t hop_digest(uint64_t seed, uint32_t nodes = 200, uint64_t hops = 50) {
  kernel k;
  world::options o;
  o.seed = seed;
  o.default_link = fast_link();
  world w{k, o};
  for (uint32_t i = 0; i < nodes; ++i)
    w.add_node("n" + std::to_string(i),
               [nodes, hops] { return std::make_unique<hop_model>(nodes, hops); });
  w.start();
  k.run_until_idle();
  EXPECT_EQ(w.counters()["net.delivered"], uint64_t{nodes} * hops);
  return w.digest();
}

/// N scripted nodes, each with its own arrival log.
struct net_fixture {
  kernel k;
  std::unique_ptr<world> w;
  std::vector<std::vector<troupe::sim::testing::arrival>> logs;

  explicit net_fixture(size_t n, world::options o = {})
    : logs(n) {
    w = std::make_unique<world>(k, o);
    for (size_t i = 0; i < n; ++i) {
      auto* log = &logs[i];
      w->add_node("n" + std::to_string(i),
                  [log] { return std::make_unique<troupe::sim::testing::scripted_model>(log); });
    }
    w->start();
  }

  void send(node_index from, node_index to, uint32_t bytes = 100, uint64_t a = 0) {
    troupe::transaction tx;
    tx.to = std::to_string(to);
    tx.bytes = bytes;
    tx.amount = a;
    w->submit(from, tx);
  }

  void all_to_all() {
    for (node_index from = 0; from < logs.size(); ++from)
      for (node_index to = 0; to < logs.size(); ++to)
        if (from != to)
          send(from, to);
  }

  /// Who `to` heard from since the last clear.
  std::vector<node_index> senders(node_index to) const {
    std::vector<node_index> xs;
    for (auto& x : logs[to])
      xs.push_back(x.from);
    std::sort(xs.begin(), xs.end());
    return xs;
  }

  void clear() {
    for (auto& l : logs)
      l.clear();
  }
};

using ids = std::vector<node_index>;

message msg() {
  message m;
  m.kind = 7;
  m.bytes = 100;
  return m;
}

} // namespace

TEST(world, same_seed_same_digest) {
  for (uint64_t seed = 1; seed <= 10; ++seed)
    EXPECT_EQ(hop_digest(seed), hop_digest(seed)) << "seed " << seed;
}

TEST(world, different_seeds_different_digests) {
  std::map<uint64_t, uint64_t> seen;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    auto d = hop_digest(seed);
    EXPECT_TRUE(seen.emplace(d, seed).second) << "seeds " << seen[d] << " and " << seed;
  }
}

TEST(world, adding_a_node_keeps_other_streams) {
  auto draw = [](uint32_t extra) {
    kernel k;
    world w{k, {}};
    std::vector<uint64_t> firsts;
    for (uint32_t i = 0; i < 3 + extra; ++i) {
      w.add_node("n" + std::to_string(i), [&firsts] {
        auto m = std::make_unique<lambda_model>();
        m->start = [&firsts](node_context& ctx) { firsts.push_back(ctx.rng()()); };
        return m;
      });
    }
    w.start();
    firsts.resize(3);
    return firsts;
  };
  EXPECT_EQ(draw(0), draw(5));
}

TEST(world, loss_drops_its_share) {
  world::options o;
  o.default_link.latency = 1ms;
  o.default_link.loss = 0.3;
  net_fixture f{2, o};
  for (int i = 0; i < 100000; ++i)
    f.send(0, 1);
  f.k.run_until_idle();
  auto c = f.w->counters();
  EXPECT_NEAR(static_cast<double>(c["net.dropped_loss"]) / 100000.0, 0.3, 0.01);
  EXPECT_EQ(c["net.dropped_loss"] + c["net.delivered"], 100000u);
  EXPECT_EQ(f.logs[1].size(), c["net.delivered"]);
}

TEST(world, symmetric_partition_blocks_exactly_the_cut_edges) {
  net_fixture f{4};
  f.w->partition({0, 1}, {2}, true);
  f.all_to_all();
  f.k.run_until_idle();
  EXPECT_EQ(f.senders(0), (ids{1, 3}));
  EXPECT_EQ(f.senders(1), (ids{0, 3}));
  EXPECT_EQ(f.senders(2), (ids{3}));
  EXPECT_EQ(f.senders(3), (ids{0, 1, 2}));
  EXPECT_EQ(f.w->counters()["net.dropped_partition"], 4u);
}

TEST(world, asymmetric_partition_blocks_one_direction) {
  net_fixture f{3};
  f.w->partition({0}, {1}, false);
  f.all_to_all();
  f.k.run_until_idle();
  EXPECT_EQ(f.senders(1), (ids{2}));    // 0 -> 1 cut
  EXPECT_EQ(f.senders(0), (ids{1, 2})); // 1 -> 0 still flows
  EXPECT_EQ(f.senders(2), (ids{0, 1}));
}

TEST(world, heal_restores) {
  net_fixture f{3};
  f.w->partition({0}, {1, 2}, true);
  f.w->isolate(2);
  f.all_to_all();
  f.k.run_until_idle();
  EXPECT_EQ(f.senders(0), ids{});
  EXPECT_EQ(f.senders(2), ids{});
  f.clear();
  f.w->heal(2);
  f.all_to_all();
  f.k.run_until_idle();
  // heal(2) ends its isolation and takes it out of every cut; 0 and 1 stay apart.
  EXPECT_EQ(f.senders(2), (ids{0, 1}));
  EXPECT_EQ(f.senders(0), (ids{2}));
  f.clear();
  f.w->heal_all();
  f.all_to_all();
  f.k.run_until_idle();
  EXPECT_EQ(f.senders(0), (ids{1, 2}));
  EXPECT_EQ(f.senders(2), (ids{0, 1}));
}

TEST(world, bandwidth_serialises_and_queues) {
  world::options o;
  o.default_link.latency = 10ms;
  o.default_link.bandwidth_bps = 8'000'000;
  net_fixture f{2, o};
  f.send(0, 1, 1'000'000);
  f.send(0, 1, 1'000'000);
  f.k.run_until_idle();
  ASSERT_EQ(f.logs[1].size(), 2u);
  EXPECT_EQ(f.logs[1][0].at, duration{1s + 10ms});
  EXPECT_EQ(f.logs[1][1].at, duration{2s + 10ms}); // queued behind the first
}

TEST(world, jitter_keeps_fifo_per_direction) {
  world::options o;
  o.default_link.latency = 1ms;
  o.default_link.jitter = 100ms;
  net_fixture f{2, o};
  for (uint64_t i = 0; i < 1000; ++i)
    f.send(0, 1, 100, i);
  f.k.run_until_idle();
  ASSERT_EQ(f.logs[1].size(), 1000u);
  for (uint64_t i = 0; i < 1000; ++i)
    EXPECT_EQ(f.logs[1][i].a, i);
}

TEST(world, fifo_holds_per_link_when_one_sender_feeds_many_links) {
  world::options o;
  o.default_link.latency = 1ms;
  o.default_link.jitter = 100ms;
  net_fixture f{4, o};
  for (uint64_t i = 0; i < 3000; ++i)
    f.send(0, static_cast<node_index>(1 + i % 3), 100, i);
  f.k.run_until_idle();
  for (node_index to = 1; to < 4; ++to) {
    ASSERT_EQ(f.logs[to].size(), 1000u);
    for (size_t i = 1; i < 1000; ++i)
      EXPECT_LT(f.logs[to][i - 1].a, f.logs[to][i].a);
  }
}

TEST(world, reorder_lets_messages_overtake) {
  world::options o;
  o.default_link.latency = 1ms;
  o.default_link.jitter = 100ms;
  o.default_link.reorder = 0.5;
  net_fixture f{2, o};
  for (uint64_t i = 0; i < 1000; ++i)
    f.send(0, 1, 100, i);
  f.k.run_until_idle();
  ASSERT_EQ(f.logs[1].size(), 1000u);
  size_t out_of_order = 0;
  for (size_t i = 1; i < 1000; ++i)
    out_of_order += f.logs[1][i].a < f.logs[1][i - 1].a;
  EXPECT_GT(out_of_order, 50u);
}

TEST(world, duplicate_delivers_twice) {
  world::options o;
  o.default_link.duplicate = 1.0;
  net_fixture f{2, o};
  f.send(0, 1);
  f.k.run_until_idle();
  EXPECT_EQ(f.logs[1].size(), 2u);
  EXPECT_EQ(f.w->counters()["net.duplicated"], 1u);
}

TEST(world, per_link_override) {
  world::options o;
  o.default_link.latency = 10ms;
  net_fixture f{3, o};
  link_options slow;
  slow.latency = 500ms;
  f.w->set_link(0, 2, slow);
  f.send(0, 1);
  f.send(0, 2);
  f.send(2, 0);
  f.k.run_until_idle();
  EXPECT_EQ(f.logs[1].at(0).at, duration{10ms});
  EXPECT_EQ(f.logs[2].at(0).at, duration{500ms});
  EXPECT_EQ(f.logs[0].at(0).at, duration{10ms}); // the override is one direction
}

TEST(world, clog_holds_traffic_until_it_ends) {
  world::options o;
  o.default_link.latency = 10ms;
  net_fixture f{3, o};
  f.w->clog(1, 2s);
  f.send(0, 1);
  f.send(0, 2);
  f.k.run_until_idle();
  EXPECT_EQ(f.logs[1].at(0).at, duration{2s + 10ms});
  EXPECT_EQ(f.logs[2].at(0).at, duration{10ms});
  f.w->clog_link(0, 2, 1s);
  auto t0 = f.k.now();
  f.send(2, 0);
  f.k.run_until_idle();
  EXPECT_EQ(f.logs[0].at(0).at, t0 + 1s + 10ms);
}

TEST(world, clock_offset_is_visible_to_that_node_only) {
  world::options o;
  o.default_link.latency = 10ms;
  net_fixture f{3, o};
  f.w->set_clock(1, 5s, 0);
  f.send(0, 1);
  f.send(0, 2);
  f.k.run_until_idle();
  EXPECT_EQ(f.logs[1].at(0).at, duration{10ms});
  EXPECT_EQ(f.logs[1].at(0).local, duration{5s + 10ms});
  EXPECT_EQ(f.logs[2].at(0).local, duration{10ms});
}

TEST(world, drift_stretches_local_time_and_timers) {
  kernel k;
  world w{k, {}};
  std::vector<std::pair<duration, duration>> fired;
  w.add_node("n0", [&fired] {
    auto m = std::make_unique<lambda_model>();
    m->start = [](node_context& ctx) { ctx.set_timer(1s, 0); };
    m->timer = [&fired](node_context& ctx, uint64_t) {
      fired.emplace_back(ctx.true_now(), ctx.local_now());
    };
    return m;
  });
  w.set_clock(0, duration{0}, 1e5); // +10%: its clock runs fast, its 1 s passes sooner
  w.start();
  k.run_until_idle();
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_NEAR(static_cast<double>(fired[0].first.count()), 1e9 / 1.1, 2);
  EXPECT_NEAR(static_cast<double>(fired[0].second.count()), 1e9, 2);
}

namespace {

struct counter_state : persistent_state {
  uint64_t restarts = 0;
};

/// Keeps a volatile counter and a persistent restart count.
class stateful_model : public node_model {
public:
  uint64_t volatile_messages = 0;
  uint64_t restarts_seen = 0;
  void on_start(node_context& ctx) override {
    auto& p = ctx.persistent();
    if (!p)
      p = std::make_shared<counter_state>();
    else
      ++static_cast<counter_state&>(*p).restarts;
    restarts_seen = static_cast<counter_state&>(*p).restarts;
    ctx.set_timer(1s, 1);
  }
  void on_message(node_context&, node_index, const message&) override { ++volatile_messages; }
  void on_timer(node_context& ctx, uint64_t) override { ctx.count("stateful.timers"); }
  node_status status() const override {
    node_status s;
    s.height = volatile_messages;
    return s;
  }
  tx_ack submit(node_context& ctx, const transaction&) override {
    ctx.send(0, msg());
    return {true, {}};
  }
};

} // namespace

TEST(world, crash_loses_volatile_state_and_restart_keeps_persistent_state) {
  kernel k;
  world::options o;
  o.default_link.latency = 10ms;
  world w{k, o};
  for (int i = 0; i < 2; ++i)
    w.add_node("n" + std::to_string(i), [] { return std::make_unique<stateful_model>(); });
  w.start();
  w.submit(1, {});
  w.submit(1, {});
  k.run_until(100ms);
  EXPECT_EQ(w.status(0).height, 2u);
  w.submit(1, {}); // in flight to the old incarnation: must be dropped
  w.crash(0);
  EXPECT_FALSE(w.status(0).up);
  EXPECT_FALSE(w.submit(0, {}).accepted);
  w.restart(0);
  k.run_until(2s);
  auto* m = static_cast<stateful_model*>(w.model(0));
  EXPECT_EQ(m->volatile_messages, 0u);
  EXPECT_EQ(m->restarts_seen, 1u);
  EXPECT_TRUE(w.status(0).up);
  EXPECT_EQ(w.status(0).id, "n0");
  auto c = w.counters();
  EXPECT_EQ(c["net.dropped_crash"], 1u);
  // Node 0's first-life timer (at 1 s) died with it; its second life's timer fires at 1.1 s.
  EXPECT_EQ(c["stateful.timers"], 2u); // node 1's timer + node 0's second-life timer
}

TEST(world, pause_holds_and_resume_releases) {
  world::options o;
  o.default_link.latency = 10ms;
  net_fixture f{2, o};
  f.w->pause(1);
  f.send(0, 1, 100, 1);
  f.send(0, 1, 100, 2);
  f.k.run_until(1s);
  EXPECT_TRUE(f.logs[1].empty());
  f.w->resume(1);
  f.k.run_until_idle();
  ASSERT_EQ(f.logs[1].size(), 2u);
  EXPECT_EQ(f.logs[1][0].at, duration{1s});
  EXPECT_EQ(f.logs[1][0].a, 1u);
  EXPECT_EQ(f.logs[1][1].a, 2u);
}

TEST(world, find_and_ids) {
  net_fixture f{3};
  EXPECT_EQ(f.w->find("n2"), std::optional<node_index>{2});
  EXPECT_EQ(f.w->find("nope"), std::nullopt);
  EXPECT_EQ(f.w->id(1), "n1");
  EXPECT_EQ(f.w->size(), 3u);
  f.w->connect(0, 1);
  f.w->connect(0, 2);
  EXPECT_EQ(f.w->status(0).peers, 2u);
  EXPECT_EQ(f.w->peers(0), (ids{1, 2}));
}

// -- stream links: a cut breaks the connection ---------------------------------

namespace {

/// Three peers (a triangle) on links of `transport`; each node's link events and the `a`
/// of every message it received. Node 0 sends one message (a = 42) to node 1 as it starts.
struct stream_fixture {
  struct seen {
    std::vector<std::pair<node_index, bool>> links;
    std::vector<uint64_t> received;
  };
  kernel k;
  std::unique_ptr<world> w;
  std::vector<seen> nodes{3};

  explicit stream_fixture(link_options::transport_t transport) {
    world::options o;
    o.default_link.latency = 10ms;
    o.default_link.transport = transport;
    w = std::make_unique<world>(k, o);
    for (size_t i = 0; i < nodes.size(); ++i) {
      auto* me = &nodes[i];
      w->add_node("n" + std::to_string(i), [me] {
        auto m = std::make_unique<lambda_model>();
        m->link = [me](node_context&, node_index peer, bool up) {
          me->links.push_back({peer, up});
        };
        m->receive = [me](node_context&, node_index, const message& msg) {
          me->received.push_back(msg.a);
        };
        m->start = [](node_context& ctx) {
          if (ctx.self() == 0)
            ctx.send(1, message{0, 100, 1, 42, 0, nullptr});
        };
        return m;
      });
    }
    w->connect(0, 1);
    w->connect(1, 2);
    w->connect(0, 2);
    w->start();
  }
};

using link_events = std::vector<std::pair<node_index, bool>>;

} // namespace

TEST(world, a_partition_breaks_stream_connections_and_tells_both_ends) {
  stream_fixture f{link_options::stream};
  f.w->partition({0}, {1, 2}, true);
  EXPECT_EQ(f.nodes[0].links, (link_events{{1, false}, {2, false}}));
  EXPECT_EQ(f.nodes[1].links, (link_events{{0, false}}));
  EXPECT_EQ(f.nodes[2].links, (link_events{{0, false}}));
  f.w->heal_all();
  EXPECT_EQ(f.nodes[0].links, (link_events{{1, false}, {2, false}, {1, true}, {2, true}}));
  EXPECT_EQ(f.nodes[1].links, (link_events{{0, false}, {0, true}}));
  EXPECT_EQ(f.w->counters()["net.stream_breaks"], 4u);
}

TEST(world, a_one_way_cut_breaks_a_stream_connection_both_ways) {
  stream_fixture f{link_options::stream};
  f.w->partition({0}, {1}, false); // only 0 -> 1 is cut, but TCP needs both directions
  EXPECT_EQ(f.nodes[0].links, (link_events{{1, false}}));
  EXPECT_EQ(f.nodes[1].links, (link_events{{0, false}}));
  EXPECT_TRUE(f.nodes[2].links.empty());
}

TEST(world, what_was_in_flight_on_a_broken_stream_is_lost_but_a_datagram_arrives) {
  for (auto transport : {link_options::stream, link_options::datagram}) {
    stream_fixture f{transport};
    f.k.run_until(5ms); // node 0's message is half way to node 1
    f.w->isolate(1);
    f.k.run_until_idle();
    if (transport == link_options::stream) {
      EXPECT_TRUE(f.nodes[1].received.empty());
      EXPECT_EQ(f.w->counters()["net.dropped_partition"], 1u);
      EXPECT_EQ(f.nodes[1].links, (link_events{{0, false}, {2, false}}));
    } else {
      // A datagram already sent is on the wire: it lands; nobody is told of connections.
      EXPECT_EQ(f.nodes[1].received, std::vector<uint64_t>{42});
      EXPECT_TRUE(f.nodes[1].links.empty());
      EXPECT_EQ(f.w->counters().count("net.stream_breaks"), 0u);
    }
  }
}
