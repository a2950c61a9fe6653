#pragma once
// A node held in memory, for the tests of what follows a node's chain (chain_follower,
// reported_chain): hashes named by height and branch, so reorgs, a node that lost its chain
// and calls that fail are exact.

#include <cstdint>
#include <string>

#include "backends/adapters/adapter.hpp"

namespace troupe::test {

using backends::adapters::block_info;
using backends::adapters::rpc_error;
using backends::adapters::submit_result;

/// A node whose best chain is `branch` up to `height` (block h's hash: "<branch>-<h>",
/// genesis "g"); calls at or above `fail_from` throw, as a node that went away.
class memory_chain : public backends::adapters::adapter {
public:
  std::string branch = "a";
  uint64_t height = 0;
  uint64_t fork_below = 0; ///< blocks below this height are on branch "a" whatever `branch`
  uint64_t fail_from = UINT64_MAX;
  uint64_t reads = 0;

  std::string hash(uint64_t h) const {
    if (h == 0)
      return "g";
    return (h < fork_below ? std::string("a") : branch) + "-" + std::to_string(h);
  }
  node_status now() const {
    node_status s;
    s.height = height;
    s.tip = hash(height);
    return s;
  }

  std::string kind() const override { return "memory"; }
  bool has_blocks() const override { return true; }
  node_status status() override { return now(); }
  block_info block_at(uint64_t h) override {
    ++reads;
    if (h >= fail_from)
      throw rpc_error("memory node went away");
    if (h > height)
      throw rpc_error("no block at that height");
    return {h, hash(h), h == 0 ? std::string{} : hash(h - 1), {"tx-" + std::to_string(h)}};
  }
  submit_result submit(const transaction&, const std::string&) override { return {}; }
};

} // namespace troupe::test
