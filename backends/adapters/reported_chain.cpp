#include "backends/adapters/reported_chain.hpp"

#include <algorithm>

namespace troupe::backends::adapters {

reported_chain::reported_chain(std::string node, uint64_t finality_depth, const tx_index& txs,
                               size_t window)
  : node_(std::move(node))
  , depth_(finality_depth)
  , txs_(txs)
  , window_(window)
  , follower_(window) {}

const std::string* reported_chain::hash_at(uint64_t height) const {
  auto it = chain_.find(height);
  return it == chain_.end() ? nullptr : &it->second.hash;
}

bool reported_chain::needs_look(const node_status& now) const {
  return now.tip != follower_.top_hash() || follower_.behind();
}

void reported_chain::start(const node_status& now) {
  chain_[now.height] = known_block{now.tip, {}};
  follower_.start(now.height, now.tip);
  final_emitted_ = now.height >= depth_ ? now.height - depth_ : 0;
  started_ = true;
}

block_event reported_chain::event(block_event::kind_t kind, uint64_t height,
                                  const std::string& hash, std::string parent, int64_t time_ns,
                                  std::vector<std::string> txs) const {
  block_event ev;
  ev.kind = kind;
  ev.node = node_;
  ev.height = height;
  ev.hash = hash;
  ev.parent = std::move(parent);
  ev.time_ns = time_ns;
  ev.txs = std::move(txs);
  return ev;
}

block_event reported_chain::added(const block_info& b, uint32_t reorg, int64_t time_ns) {
  chain_.erase(chain_.lower_bound(b.height), chain_.end());
  auto ev =
    event(block_event::added, b.height, b.hash, b.parent, time_ns, txs_.troupe_ids(b.txids));
  ev.reorg_depth = reorg;
  chain_[b.height] = known_block{b.hash, ev.txs};
  return ev;
}

std::vector<block_event> reported_chain::look(adapter& a, const node_status& now, int64_t time_ns) {
  if (!started_) {
    start(now);
    return {};
  }
  std::vector<block_event> out;
  if (!a.has_blocks())
    out = follow_heights(now, time_ns);
  else if (needs_look(now))
    out = follow_blocks(a, now, time_ns);
  for (auto& ev : finalize(time_ns))
    out.push_back(std::move(ev));
  return out;
}

std::vector<block_event> reported_chain::follow_blocks(adapter& a, const node_status& now,
                                                       int64_t time_ns) {
  auto step = follower_.follow(a, now);
  chain_.erase(chain_.upper_bound(step.fork), chain_.end());
  std::vector<block_event> out;
  for (const auto& b : step.blocks)
    out.push_back(added(b, out.empty() ? step.reorg_depth : 0, time_ns));
  return out;
}

std::vector<block_event> reported_chain::follow_heights(const node_status& now, int64_t time_ns) {
  const uint64_t top = chain_.empty() ? now.height : chain_.rbegin()->first;
  if (now.height <= top)
    return {};
  auto ev = event(block_event::added, now.height, now.tip, chain_.rbegin()->second.hash, time_ns,
                  txs_.landed_between(top, now.height));
  chain_[now.height] = known_block{now.tip, ev.txs};
  return {std::move(ev)};
}

std::vector<block_event> reported_chain::apply_summary(const nlohmann::json& summary,
                                                       int64_t time_ns) {
  if (summary.contains("fork"))
    chain_.erase(chain_.upper_bound(summary["fork"].get<uint64_t>()), chain_.end());
  uint32_t reorg = summary.value("reorg_depth", uint32_t{0});
  std::vector<block_event> out;
  for (const auto& j : summary["blocks"]) {
    block_info b;
    b.height = j.at("height").get<uint64_t>();
    b.hash = j.at("hash").get<std::string>();
    b.parent = j.at("parent").get<std::string>();
    b.txids = j.at("txids").get<std::vector<std::string>>();
    out.push_back(added(b, reorg, time_ns));
    reorg = 0;
  }
  return out;
}

std::vector<block_event> reported_chain::finalize(int64_t time_ns) {
  std::vector<block_event> out;
  if (!chain_.empty() && chain_.rbegin()->first >= depth_) {
    const uint64_t upto = chain_.rbegin()->first - depth_;
    for (auto h = std::max(final_emitted_ + 1, chain_.begin()->first); h <= upto; ++h) {
      auto it = chain_.find(h);
      if (it == chain_.end())
        continue;
      auto prev = chain_.find(h - 1);
      out.push_back(event(block_event::finalized, h, it->second.hash,
                          prev == chain_.end() ? std::string{} : prev->second.hash, time_ns,
                          it->second.txs));
    }
    final_emitted_ = std::max(final_emitted_, upto);
  }
  while (chain_.size() > window_)
    chain_.erase(chain_.begin());
  return out;
}

} // namespace troupe::backends::adapters
