// The built-in `chain` model through the real kernel and world: convergence, finality, forks
// and their resolution, partitions, restarts, transaction inclusion, determinism, params.

#include "sim/models/chain.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/kernel.hpp"
#include "sim/world.hpp"

namespace troupe::sim::models {
namespace {

using namespace std::chrono_literals;

// -- fixture ------------------------------------------------------------------

/// A simulated network of chain nodes, with every block event recorded per node.
struct net {
  sim::kernel k;
  sim::world w;
  std::vector<node_index> nodes;
  std::map<std::string, std::vector<block_event>> added, finalized; // by node id

  explicit net(uint64_t seed, duration latency = 50ms)
    : w(k, options(seed, latency)) {
    w.on_block([this](const block_event& ev) {
      (ev.kind == block_event::added ? added : finalized)[ev.node].push_back(ev);
    });
  }

  static world::options options(uint64_t seed, duration latency) {
    world::options o;
    o.seed = seed;
    o.default_link.latency = latency;
    return o;
  }

  node_index add(const std::string& id, const chain_params& p) {
    nodes.push_back(w.add_node(id, make_chain_model(p)));
    return nodes.back();
  }

  /// `n` nodes, each linked to the next and to the one 7 further on (degree <= 4).
  void add_ring(size_t n, const chain_params& p, const std::string& prefix = "validator-") {
    const size_t first = nodes.size();
    for (size_t i = 0; i < n; ++i)
      add(prefix + std::to_string(i), p);
    std::set<std::pair<size_t, size_t>> links;
    for (size_t i = 0; i < n && n > 1; ++i)
      for (size_t step : {size_t{1}, size_t{7}}) {
        const size_t j = (i + step) % n;
        if (i != j && links.insert({std::min(i, j), std::max(i, j)}).second)
          w.connect(nodes[first + i], nodes[first + j]);
      }
  }

  void run_for(duration d) { k.run_until(k.now() + d); }

  bool same_tip() const {
    std::string tip;
    for (node_index i : nodes) {
      if (!w.up(i))
        continue;
      const auto s = w.status(i);
      if (tip.empty())
        tip = s.tip;
      else if (s.tip != tip)
        return false;
    }
    return true;
  }

  /// Runs in 50 ms steps until every up node shows the same tip, at most `within`.
  bool converge(duration within) {
    for (duration waited{0}; waited <= within; waited += 50ms) {
      if (same_tip())
        return true;
      run_for(50ms);
    }
    return false;
  }

  /// Safety: no two nodes finalized different blocks at one height.
  void expect_safe() const {
    std::map<uint64_t, std::string> final_at;
    for (const auto& [node, evs] : finalized)
      for (const auto& ev : evs) {
        auto [it, fresh] = final_at.emplace(ev.height, ev.hash);
        EXPECT_EQ(it->second, ev.hash) << node << " finalized another block at " << ev.height;
      }
  }

  uint64_t counter(const std::string& name) const {
    const auto c = w.counters();
    auto it = c.find(name);
    return it == c.end() ? 0 : it->second;
  }
};

chain_params params(double coeff, uint32_t finality = 10) {
  chain_params p;
  p.active_slot_coeff = coeff;
  p.finality_depth = finality;
  return p;
}

// -- convergence and finality -----------------------------------------------------

TEST(chain_model, without_faults_all_nodes_converge_and_finality_advances) {
  net n(1);
  n.add_ring(30, params(0.01));
  n.w.start();
  n.run_for(600s);
  ASSERT_TRUE(n.converge(10s));
  const auto s = n.w.status(n.nodes[0]);
  // ~157 blocks expected (26% of 600 slots); far fewer means leaders or gossip broke.
  EXPECT_GT(s.height, 100u);
  EXPECT_EQ(s.final_height, s.height - 10);
  EXPECT_EQ(s.tip.size(), 16u);
  for (node_index i : n.nodes) {
    EXPECT_EQ(n.w.status(i).final_tip, s.final_tip);
    EXPECT_EQ(n.finalized[n.w.id(i)].size(), s.final_height);
  }
  n.expect_safe();
  EXPECT_EQ(n.counter("blocks_produced") >= s.height, true);
}

TEST(chain_model, observers_follow_but_never_lead) {
  net n(2);
  chain_params observer = params(1.0);
  observer.leader = false;
  n.add_ring(5, observer, "observer-");
  n.w.start();
  n.run_for(30s);
  for (node_index i : n.nodes) {
    EXPECT_EQ(n.w.status(i).height, 0u);
    EXPECT_EQ(n.w.status(i).tip, chain_genesis_hash());
  }
  EXPECT_EQ(n.counter("blocks_produced"), 0u);
}

// -- forks ------------------------------------------------------------------------

TEST(chain_model, two_leaders_in_one_slot_fork_and_the_lower_hash_wins) {
  // Both validators lead every slot and hear each other after 300 ms: every slot is a
  // two-block fork at one height, which the tie-break (lower hash) must resolve the same
  // way on every node, the observer included, before the next slot.
  net n(3, 300ms);
  const node_index a = n.add("validator-a", params(1.0, 3));
  const node_index b = n.add("validator-b", params(1.0, 3));
  chain_params obs = params(0.0, 3);
  obs.leader = false;
  const node_index o = n.add("observer", obs);
  n.w.connect(a, b);
  n.w.connect(a, o);
  n.w.connect(b, o);
  n.w.start();
  n.run_for(10500ms); // mid-slot: every fork of slots 1..10 has been resolved
  EXPECT_TRUE(n.same_tip());
  EXPECT_EQ(n.w.status(a).height, 10u);
  EXPECT_EQ(n.w.status(o).height, 10u);
  EXPECT_GE(n.counter("forks"), 10u);
  EXPECT_GE(n.counter("reorgs"), 10u);
  // The winner at each height is the lower hash of the two candidates.
  std::map<uint64_t, std::set<std::string>> candidates;
  for (const auto& ev : n.added["observer"])
    candidates[ev.height].insert(ev.hash);
  for (const auto& ev : n.finalized["observer"]) {
    if (candidates[ev.height].size() == 2) {
      EXPECT_EQ(ev.hash, *candidates[ev.height].begin()) << "height " << ev.height;
    }
  }
  n.expect_safe();
}

TEST(chain_model, longer_branch_wins_after_partition_and_its_txs_return) {
  net n(4);
  const node_index fast = n.add("validator-fast", params(1.0, 50));
  const node_index slow = n.add("validator-slow", params(0.3, 50));
  n.w.connect(fast, slow);
  n.w.start();
  n.run_for(2500ms);
  ASSERT_TRUE(n.converge(2s));
  n.w.partition({fast}, {slow});
  n.run_for(1s);
  // Submitted on the slow side only: they enter its branch, which will lose.
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(n.w.submit(slow, {"tx-" + std::to_string(i), "alice", "bob", 1, 0}).accepted);
  n.run_for(15s);
  const auto fast_before = n.w.status(fast), slow_before = n.w.status(slow);
  ASSERT_GT(fast_before.height, slow_before.height);
  ASSERT_NE(fast_before.tip, slow_before.tip);
  n.w.heal_all();
  ASSERT_TRUE(n.converge(5s));
  // The slow node rolled its own branch back to adopt the longer one.
  uint32_t deepest = 0;
  for (const auto& ev : n.added["validator-slow"])
    deepest = std::max(deepest, ev.reorg_depth);
  EXPECT_GE(deepest, 1u);
  EXPECT_GE(n.counter("reorgs"), 1u);
  // Its transactions went back to its mempool and were included again, now on the winning
  // chain: the fast node sees them although it never received them while partitioned.
  n.run_for(30s);
  std::set<std::string> on_fast;
  for (const auto& ev : n.added["validator-fast"])
    for (const auto& t : ev.txs)
      on_fast.insert(t);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(on_fast.count("tx-" + std::to_string(i)), 1u) << i;
  n.expect_safe();
}

TEST(chain_model, healed_partition_converges) {
  net n(5);
  n.add_ring(10, params(0.03, 50));
  n.w.start();
  n.run_for(20s);
  std::vector<node_index> big(n.nodes.begin(), n.nodes.begin() + 7);
  std::vector<node_index> small(n.nodes.begin() + 7, n.nodes.end());
  n.w.partition(big, small);
  n.run_for(60s);
  n.w.heal_all();
  n.run_for(30s);
  EXPECT_TRUE(n.converge(20s));
  EXPECT_GT(n.w.status(n.nodes[9]).height, 10u);
  n.expect_safe();
}

// -- restarts -----------------------------------------------------------------------

TEST(chain_model, restarted_node_keeps_its_chain_and_catches_up) {
  net n(6);
  n.add_ring(5, params(0.1));
  n.w.start();
  n.run_for(30s);
  const node_index victim = n.nodes[4];
  n.w.crash(victim);
  const uint64_t height_at_crash = n.w.status(n.nodes[0]).height;
  n.run_for(90s);
  ASSERT_GT(n.w.status(n.nodes[0]).height, height_at_crash + 10);
  n.w.restart(victim);
  // Its chain was on "disk": it does not start again from genesis.
  EXPECT_GE(n.w.status(victim).height + 2, height_at_crash);
  EXPECT_EQ(n.w.status(victim).mempool, 0u);
  n.run_for(5s);
  EXPECT_TRUE(n.converge(10s));
  EXPECT_EQ(n.w.status(victim).height, n.w.status(n.nodes[0]).height);
  n.expect_safe();
}

TEST(chain_model, lossy_network_with_restarts_still_converges) {
  // 10% of messages lost: gossip redundancy, parent requests with retries and the periodic
  // tip announcements must still bring every node to one chain.
  net n(9);
  sim::link_options lossy;
  lossy.latency = 50ms;
  lossy.loss = 0.10;
  n.add_ring(12, params(0.03));
  for (node_index a : n.nodes)
    for (node_index b : n.w.peers(a))
      n.w.set_link(a, b, lossy);
  n.w.start();
  for (int round = 0; round < 4; ++round) {
    n.run_for(40s);
    n.w.restart(n.nodes[static_cast<size_t>(round) * 3]);
  }
  n.run_for(20s);
  EXPECT_TRUE(n.converge(30s));
  EXPECT_GT(n.w.status(n.nodes[0]).height, 20u);
  n.expect_safe();
}

// -- transactions -------------------------------------------------------------------

TEST(chain_model, submitted_transactions_are_included_and_final_everywhere) {
  net n(7);
  n.add_ring(10, params(0.05));
  n.w.start();
  std::set<std::string> submitted;
  for (int i = 0; i < 200; ++i) {
    n.run_for(100ms);
    const std::string id = "tx-" + std::to_string(i);
    ASSERT_TRUE(n.w.submit(n.nodes[i % 10], {id, "alice", "bob", 1, 0}).accepted);
    submitted.insert(id);
  }
  n.run_for(1s); // gossip reaches every node well within a second
  const auto dup = n.w.submit(n.nodes[3], {"tx-199", "alice", "bob", 1, 0});
  EXPECT_FALSE(dup.accepted);
  EXPECT_NE(dup.reason.find("duplicate"), std::string::npos) << dup.reason;
  n.run_for(120s);
  for (node_index i : n.nodes) {
    std::multiset<std::string> final_txs;
    for (const auto& ev : n.finalized[n.w.id(i)])
      final_txs.insert(ev.txs.begin(), ev.txs.end());
    EXPECT_EQ(final_txs.size(), submitted.size()) << n.w.id(i) << ": each once";
    EXPECT_EQ(std::set<std::string>(final_txs.begin(), final_txs.end()), submitted);
    EXPECT_EQ(n.w.status(i).mempool, 0u);
  }
  // Old transactions stay known: resubmitting one after inclusion is still a duplicate.
  EXPECT_FALSE(n.w.submit(n.nodes[0], {"tx-0", "alice", "bob", 1, 0}).accepted);
}

TEST(chain_model, full_mempool_rejects_with_a_reason) {
  net n(8);
  chain_params p = params(0.0);
  p.mempool_max = 2;
  n.add("validator-0", p);
  n.w.start();
  EXPECT_TRUE(n.w.submit(n.nodes[0], {"a", "x", "y", 1, 0}).accepted);
  EXPECT_TRUE(n.w.submit(n.nodes[0], {"b", "x", "y", 1, 0}).accepted);
  const auto full = n.w.submit(n.nodes[0], {"c", "x", "y", 1, 0});
  EXPECT_FALSE(full.accepted);
  EXPECT_NE(full.reason.find("mempool full"), std::string::npos) << full.reason;
  EXPECT_EQ(n.w.status(n.nodes[0]).mempool, 2u);
}

// -- determinism ----------------------------------------------------------------------

uint64_t digest_of(uint64_t seed) {
  net n(seed);
  n.add_ring(20, params(0.02));
  n.w.start();
  for (int i = 0; i < 50; ++i) {
    n.run_for(500ms);
    n.w.submit(n.nodes[static_cast<size_t>(i) % 20], {"tx-" + std::to_string(i), "a", "b", 1, 0});
  }
  n.w.crash(n.nodes[3]);
  n.run_for(20s);
  n.w.restart(n.nodes[3]);
  n.run_for(30s);
  return n.w.digest();
}

TEST(chain_model, same_seed_gives_the_same_digest) {
  EXPECT_EQ(digest_of(11), digest_of(11));
  EXPECT_NE(digest_of(11), digest_of(12));
}

// -- parameters -----------------------------------------------------------------------

TEST(chain_model, params_parse_with_defaults_and_overrides) {
  std::vector<validation_error> errors;
  const auto p = parse_chain_params(nlohmann::json{{"slot", "500ms"},
                                                   {"active_slot_coeff", 0.2},
                                                   {"finality_depth", 5},
                                                   {"max_block_txs", 100},
                                                   {"tx_bytes", 300},
                                                   {"block_header_bytes", 80},
                                                   {"tx_relay_interval", "0s"},
                                                   {"mempool_max", 7}},
                                    true, "topology.groups[0].node.params", errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(p.slot, 500ms);
  EXPECT_DOUBLE_EQ(p.active_slot_coeff, 0.2);
  EXPECT_EQ(p.finality_depth, 5u);
  EXPECT_EQ(p.max_block_txs, 100u);
  EXPECT_EQ(p.tx_bytes, 300u);
  EXPECT_EQ(p.block_header_bytes, 80u);
  EXPECT_EQ(p.tx_relay_interval, 0s);
  EXPECT_EQ(p.mempool_max, 7u);
  EXPECT_TRUE(p.leader);

  const auto d = parse_chain_params(nlohmann::json::object(), false, "p", errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(d.slot, 1s);
  EXPECT_EQ(d.max_block_txs, 500u);
  EXPECT_EQ(d.finality_depth, 10u);
  EXPECT_FALSE(d.leader); // from the role
  EXPECT_TRUE(parse_chain_params({{"leader", true}}, false, "p", errors).leader);
  EXPECT_EQ(
    parse_chain_params(nlohmann::json::parse(R"({"slot": "1.5s"})"), true, "p", errors).slot,
    1500ms);
  EXPECT_TRUE(errors.empty());
}

TEST(chain_model, params_errors_name_their_path) {
  std::vector<validation_error> errors;
  parse_chain_params(nlohmann::json::parse(R"({"slot": 5, "bogus": 1, "active_slot_coeff": 2,
      "max_block_txs": -1, "leader": "yes", "finality_depth": 0, "tx_bytes": 1.5})"),
                     true, "topology.groups[1].node.params", errors);
  std::set<std::string> paths;
  for (const auto& e : errors) {
    paths.insert(e.path);
    EXPECT_FALSE(e.message.empty());
  }
  const std::string base = "topology.groups[1].node.params.";
  EXPECT_EQ(paths, (std::set<std::string>{base + "slot", base + "bogus", base + "active_slot_coeff",
                                          base + "max_block_txs", base + "leader",
                                          base + "finality_depth", base + "tx_bytes"}));
  errors.clear();
  parse_chain_params(nlohmann::json::array(), true, "x.params", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "x.params");
  errors.clear();
  parse_chain_params({{"slot", "1 parsec"}}, true, "x", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "x.slot");
}

} // namespace
} // namespace troupe::sim::models
