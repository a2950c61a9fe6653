// chain_follower: what is new on a node's best chain at each look, for the proxy and the
// agent's watcher. The node here is a chain held in memory (hashes named by height and
// branch), so reorgs, a node that lost its chain and calls that fail are exact.

#include <gtest/gtest.h>

#include "backends/adapters/chain_follower.hpp"
#include "tests/backends/memory_chain.hpp"

using namespace troupe;
using namespace troupe::backends::adapters;
using troupe::test::memory_chain;

namespace {

std::vector<uint64_t> heights(const chain_step& s) {
  std::vector<uint64_t> out;
  for (auto& b : s.blocks)
    out.push_back(b.height);
  return out;
}

} // namespace

TEST(chain_follower, reports_each_new_block_once_in_order) {
  memory_chain node;
  node.height = 10;
  chain_follower f;
  f.start(node.height, node.hash(10));
  node.height = 13;
  auto step = f.follow(node, node.now());
  EXPECT_EQ(heights(step), (std::vector<uint64_t>{11, 12, 13}));
  EXPECT_EQ(step.reorg_depth, 0u);
  EXPECT_EQ(step.blocks[0].parent, "a-10");
  EXPECT_FALSE(f.behind());
  EXPECT_TRUE(f.follow(node, node.now()).blocks.empty()) << "nothing new, nothing reported";
}

TEST(chain_follower, a_reorg_replaces_the_blocks_above_the_common_one) {
  memory_chain node;
  node.height = 20;
  chain_follower f;
  f.start(10, node.hash(10));
  f.follow(node, node.now());
  // The node switches to branch b from height 18 on, one block longer.
  node.branch = "b";
  node.fork_below = 18;
  node.height = 21;
  auto step = f.follow(node, node.now());
  EXPECT_EQ(step.fork, 17u);
  EXPECT_EQ(step.reorg_depth, 3u) << "18, 19 and 20 of branch a are gone";
  EXPECT_EQ(heights(step), (std::vector<uint64_t>{18, 19, 20, 21}));
  EXPECT_EQ(*f.hash_at(18), "b-18");
  EXPECT_EQ(*f.hash_at(17), "a-17");
}

TEST(chain_follower, a_node_that_lost_its_chain_gets_every_block_reported_again) {
  memory_chain node;
  node.height = 120;
  chain_follower f{50}; // remembers 50 blocks: 71..120 once it followed to 120
  f.start(100, node.hash(100));
  f.follow(node, node.now());
  // Killed before it flushed: back at genesis, then downloading the same chain again.
  node.height = 5;
  auto step = f.follow(node, node.now());
  EXPECT_EQ(step.fork, 5u) << "below everything remembered: anchored at the node's own tip";
  EXPECT_EQ(step.reorg_depth, 115u);
  EXPECT_TRUE(step.blocks.empty());
  ASSERT_TRUE(f.started()) << "never empty again: the next look is not a fresh start";
  EXPECT_EQ(f.top(), 5u);
  std::vector<uint64_t> seen;
  node.height = 130;
  for (int look = 0; look < 10 && (seen.empty() || seen.back() < 130); ++look)
    for (auto h : heights(f.follow(node, node.now())))
      seen.push_back(h);
  ASSERT_EQ(seen.size(), 125u);
  for (size_t k = 0; k < seen.size(); ++k)
    EXPECT_EQ(seen[k], 6 + k) << "no height skipped";
}

TEST(chain_follower, a_node_far_ahead_is_read_a_bounded_number_of_blocks_per_look) {
  memory_chain node;
  chain_follower f{1000, 200};
  f.start(0, node.hash(0));
  node.height = 450;
  auto first = f.follow(node, node.now());
  EXPECT_EQ(first.blocks.size(), 200u);
  EXPECT_TRUE(f.behind()) << "the next look must go on even if the tip does not move";
  auto second = f.follow(node, node.now());
  auto third = f.follow(node, node.now());
  EXPECT_EQ(second.blocks.front().height, 201u);
  EXPECT_EQ(third.blocks.front().height, 401u);
  EXPECT_EQ(third.blocks.back().height, 450u);
  EXPECT_FALSE(f.behind());
}

TEST(chain_follower, a_call_that_fails_keeps_what_was_read_and_resumes_after_it) {
  memory_chain node;
  node.height = 10;
  chain_follower f;
  f.start(10, node.hash(10));
  node.height = 20;
  node.fail_from = 15;
  auto step = f.follow(node, node.now());
  EXPECT_EQ(heights(step), (std::vector<uint64_t>{11, 12, 13, 14}));
  EXPECT_TRUE(f.behind());
  // Failing at once, nothing found: the error goes to the caller and nothing changes.
  EXPECT_THROW(f.follow(node, node.now()), rpc_error);
  EXPECT_EQ(f.top(), 14u);
  node.fail_from = UINT64_MAX;
  EXPECT_EQ(heights(f.follow(node, node.now())), (std::vector<uint64_t>{15, 16, 17, 18, 19, 20}));
}
