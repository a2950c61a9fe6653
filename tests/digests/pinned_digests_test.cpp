// Pinned trace digests of the kernel and the chain model, with nothing but sim/ and actors/
// linked: small enough for CI to build a second time with another compiler and optimisation
// level (scripts/digests_cross.sh: clang++ -O0 into build-clang/) and compare. The main build
// (g++ -O3) runs the same test, so the values below hold for both. The whole-scenario digests
// (tests/scenarios/examples_test.cpp) need the whole engine; `digests_cross.sh --examples`
// checks them the same way.
//
// Each case exercises a part of what the digest covers: gossip with jitter and bandwidth,
// loss, partitions and heals, crashes and restarts, clock skew, transactions, Byzantine
// nodes. A deliberate change to the model updates these values and says why.

#include <map>
#include <string>

#include <gtest/gtest.h>

#include "sim/kernel.hpp"
#include "sim/models/chain.hpp"
#include "sim/world.hpp"

namespace troupe::sim::models {
namespace {

using namespace std::chrono_literals;

struct net {
  sim::kernel k;
  sim::world w;
  std::vector<node_index> nodes;

  net(uint64_t seed, link_options link)
    : w(k, options(seed, link)) {}

  static world::options options(uint64_t seed, link_options link) {
    world::options o;
    o.seed = seed;
    o.default_link = link;
    return o;
  }

  /// `n` chain nodes, each linked to the next and the one 5 further on.
  void ring(size_t n, const chain_params& p) {
    for (size_t i = 0; i < n; ++i)
      nodes.push_back(w.add_node("validator-" + std::to_string(i), make_chain_model(p)));
    for (size_t i = 0; i < n; ++i) {
      w.connect(nodes[i], nodes[(i + 1) % n]);
      if (n > 10)
        w.connect(nodes[i], nodes[(i + 5) % n]);
    }
  }

  void run_for(duration d) { k.run_until(k.now() + d); }

  void submit_some(int count, duration every) {
    for (int i = 0; i < count; ++i) {
      run_for(every);
      w.submit(nodes[static_cast<size_t>(i * 7) % nodes.size()],
               {"tx-" + std::to_string(i), "a", "b", 1, 0});
    }
  }

  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(w.digest()));
    return buf;
  }
};

chain_params chain(double coeff) {
  chain_params p;
  p.active_slot_coeff = coeff;
  return p;
}

link_options link(duration latency, duration jitter, double loss = 0, uint64_t bps = 0) {
  link_options l;
  l.latency = latency;
  l.jitter = jitter;
  l.loss = loss;
  l.bandwidth_bps = bps;
  return l;
}

std::string gossip_with_jitter_and_bandwidth() {
  net n(3, link(40ms, 20ms, 0, 10'000'000));
  n.ring(20, chain(0.02));
  n.w.start();
  n.submit_some(200, 250ms);
  n.run_for(60s);
  return n.hex();
}

std::string loss_partition_and_heal() {
  net n(4, link(30ms, 10ms, 0.03));
  n.ring(16, chain(0.03));
  n.w.start();
  n.submit_some(40, 500ms);
  std::vector<node_index> left(n.nodes.begin(), n.nodes.begin() + 6);
  std::vector<node_index> right(n.nodes.begin() + 6, n.nodes.end());
  n.w.partition(left, right);
  n.run_for(60s);
  n.w.heal_all();
  n.run_for(60s);
  return n.hex();
}

std::string crashes_restarts_and_skew() {
  net n(5, link(50ms, 5ms));
  n.ring(12, chain(0.04));
  n.w.start();
  n.w.set_clock(n.nodes[2], 700ms, 150);
  n.submit_some(30, 1s);
  n.w.crash(n.nodes[4]);
  n.w.pause(n.nodes[7]);
  n.run_for(30s);
  n.w.restart(n.nodes[4]);
  n.w.resume(n.nodes[7]);
  n.w.clog(n.nodes[9], 5s);
  n.run_for(60s);
  return n.hex();
}

std::string byzantine_validators() {
  net n(6, link(40ms, 10ms));
  n.ring(14, chain(0.03));
  n.w.start();
  n.run_for(5s);
  n.w.byzantine(n.nodes[0], {"equivocate", "", ""});
  n.w.byzantine(n.nodes[3], {"withhold", "", ""});
  n.w.byzantine(n.nodes[6], {"invalid", "bad_tx", ""});
  n.w.byzantine(n.nodes[9], {"twin", "", "validator-1"});
  n.submit_some(60, 1s);
  n.run_for(60s);
  return n.hex();
}

TEST(pinned_digests, kernel_and_chain_model_runs_give_their_pinned_digests) {
  const std::map<std::string, std::pair<std::string (*)(), std::string>> cases = {
    {"gossip_with_jitter_and_bandwidth", {gossip_with_jitter_and_bandwidth, "c3b454a544fc19ad"}},
    {"loss_partition_and_heal", {loss_partition_and_heal, "20272476b96c213b"}},
    {"crashes_restarts_and_skew", {crashes_restarts_and_skew, "1bebe30687cb6b5c"}},
    {"byzantine_validators", {byzantine_validators, "f90f271113b631af"}},
  };
  for (const auto& [name, c] : cases)
    EXPECT_EQ(c.first(), c.second)
      << name << ": the trace digest changed. If the model changed on purpose, pin the new "
      << "value here and say why in the commit message.";
}

} // namespace
} // namespace troupe::sim::models
