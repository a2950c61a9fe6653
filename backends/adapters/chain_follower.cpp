#include "backends/adapters/chain_follower.hpp"

#include <algorithm>

namespace troupe::backends::adapters {

chain_follower::chain_follower(uint64_t window_blocks, uint64_t blocks_per_look_max)
  : window_blocks_(std::max<uint64_t>(window_blocks, 1))
  , blocks_per_look_max_(std::max<uint64_t>(blocks_per_look_max, 1)) {}

const std::string* chain_follower::hash_at(uint64_t height) const {
  auto it = chain_.find(height);
  return it == chain_.end() ? nullptr : &it->second;
}

void chain_follower::start(uint64_t height, const std::string& tip) {
  chain_.clear();
  chain_[height] = tip;
  behind_ = false;
}

chain_step chain_follower::follow(adapter& a, const node_status& now) {
  chain_step step;
  const auto top = chain_.rbegin()->first;
  const auto base = chain_.begin()->first;
  // Walk down while the node's block at `fork` differs from the one seen there.
  uint64_t fork = std::min(now.height, top);
  while (fork >= base && fork > 0) {
    auto it = chain_.find(fork);
    if (it != chain_.end() && a.block_at(fork).hash == it->second)
      break;
    --fork;
  }
  // Below everything remembered (a node that lost its chain): anchor at the node's own block
  // there, read before anything changes so that a failed call leaves the chain as it was.
  std::string anchor;
  if (fork < base)
    anchor = a.block_at(fork).hash;
  step.fork = fork;
  step.reorg_depth = top > fork ? static_cast<uint32_t>(top - fork) : 0;
  chain_.erase(chain_.upper_bound(fork), chain_.end());
  if (!anchor.empty())
    chain_[fork] = anchor;
  behind_ = false;
  const auto last = std::min(now.height, fork + blocks_per_look_max_);
  for (auto h = fork + 1; h <= last; ++h) {
    block_info b;
    try {
      b = a.block_at(h);
    } catch (const rpc_error&) {
      if (step.blocks.empty() && step.reorg_depth == 0)
        throw;
      // What was found goes out with this look (losing it would lose its blocks'
      // transactions on this node); the next look resumes here.
      behind_ = true;
      break;
    }
    // The node switched chains while it was read: the next look resumes from here.
    auto prev = chain_.find(h - 1);
    if (prev != chain_.end() && b.parent != prev->second) {
      behind_ = true;
      break;
    }
    chain_[h] = b.hash;
    step.blocks.push_back(std::move(b));
  }
  if (last < now.height)
    behind_ = true;
  while (chain_.size() > window_blocks_)
    chain_.erase(chain_.begin());
  return step;
}

} // namespace troupe::backends::adapters
