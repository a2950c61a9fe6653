// reported_chain: the block events a proxy sends for one node — what is new, then what became
// final `finality_depth` below the top, each once — from a node with blocks (followed through
// an in-memory chain) and from a node without (heights only, with the writes of every proxy).

#include <gtest/gtest.h>

#include "backends/adapters/reported_chain.hpp"
#include "tests/backends/memory_chain.hpp"

using namespace troupe;
using namespace troupe::backends::adapters;
using troupe::test::memory_chain;

namespace {

std::vector<uint64_t> heights(const std::vector<block_event>& evs) {
  std::vector<uint64_t> out;
  for (const auto& e : evs)
    out.push_back(e.height);
  return out;
}

node_status at(uint64_t height) {
  node_status s;
  s.height = height;
  s.tip = "rev-" + std::to_string(height);
  return s;
}

} // namespace

TEST(reported_chain, blocks_are_added_then_final_depth_below_with_their_own_transactions) {
  memory_chain node;
  node.height = 10;
  tx_index txs;
  txs.add("tx-12", "transactions-3");
  reported_chain chain{"n0", 2, txs};
  chain.start(node.now());
  node.height = 14;
  ASSERT_TRUE(chain.needs_look(node.now()));
  auto added = chain.follow_blocks(node, node.now(), 7);
  EXPECT_EQ(heights(added), (std::vector<uint64_t>{11, 12, 13, 14}));
  EXPECT_EQ(added[1].txs, (std::vector<std::string>{"transactions-3"}));
  EXPECT_TRUE(added[0].txs.empty()) << "a transaction the run did not submit is not the run's";
  auto final = chain.finalize(7);
  // Final up to 14 - 2, from the block the node was first seen at (10): what was final
  // before the run looked is not the run's.
  EXPECT_EQ(heights(final), (std::vector<uint64_t>{10, 11, 12}));
  EXPECT_EQ(final.back().txs, (std::vector<std::string>{"transactions-3"}));
  EXPECT_EQ(final.back().kind, block_event::finalized);
  EXPECT_TRUE(chain.finalize(8).empty()) << "each block is final once";
  ASSERT_NE(chain.hash_at(12), nullptr);
  EXPECT_EQ(*chain.hash_at(12), "a-12");
}

TEST(reported_chain, a_reorg_replaces_the_blocks_above_the_fork) {
  memory_chain node;
  node.height = 10;
  tx_index txs;
  reported_chain chain{"n0", 3, txs};
  chain.start(node.now());
  node.height = 12;
  chain.follow_blocks(node, node.now(), 0);
  node.branch = "b";
  node.fork_below = 12;
  node.height = 13;
  auto added = chain.follow_blocks(node, node.now(), 0);
  EXPECT_EQ(heights(added), (std::vector<uint64_t>{12, 13}));
  EXPECT_EQ(added[0].reorg_depth, 1u);
  EXPECT_EQ(*chain.hash_at(12), "b-12");
}

TEST(reported_chain, a_write_taken_by_one_node_is_final_on_every_node_that_reaches_its_height) {
  // Nodes without blocks (etcd): a write answered by n0 at revision 5 is on n1 too once n1 is
  // at 5 — the index is the deployment's, shared by every proxy.
  tx_index txs;
  reported_chain n0{"n0", 0, txs}, n1{"n1", 1, txs};
  n0.start(at(3));
  n1.start(at(2));
  txs.landed(5, "transactions-0");
  auto on0 = n0.follow_heights(at(5), 0);
  ASSERT_EQ(on0.size(), 1u);
  EXPECT_EQ(on0[0].txs, (std::vector<std::string>{"transactions-0"}));
  EXPECT_EQ(heights(n0.finalize(0)), (std::vector<uint64_t>{5}));
  n1.follow_heights(at(4), 0);
  EXPECT_EQ(heights(n1.finalize(0)), (std::vector<uint64_t>{2}))
    << "at depth 1, 4 is not final yet; 2, where n1 was first seen, is";
  auto on1 = n1.follow_heights(at(6), 0);
  ASSERT_EQ(on1.size(), 1u);
  EXPECT_EQ(on1[0].txs, (std::vector<std::string>{"transactions-0"}));
  auto final1 = n1.finalize(0);
  EXPECT_EQ(heights(final1), (std::vector<uint64_t>{4}))
    << "heights are reported as the node is seen at them: 6's writes are final at 7";
  EXPECT_TRUE(n1.follow_heights(at(6), 0).empty()) << "a height seen is not new again";
}
