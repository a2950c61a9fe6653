#pragma once
// Follows one real node's best chain through its adapter, for the two places that watch
// nodes: the orchestrator's proxy (poll "orchestrator") and the agent's watcher (poll
// "agent"). Each look says which blocks are new since the last one (oldest first) and how
// many of the blocks seen before the node replaced.
//
// It never skips a height. A node far ahead is read blocks_per_look_max blocks at a time,
// resuming at the next look (`behind`). A node that lost its chain — litecoind killed before
// it flushed restarts from genesis and downloads everything again — is followed down to
// where it still agrees with what was seen (or to its own tip, when that is below everything
// remembered: the follower anchors there, never empty again) and every block above is
// reported again as the node gets it back, so the blocks that became final while it was
// catching up are final on it too.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "backends/adapters/adapter.hpp"

namespace troupe::backends::adapters {

/// One look at the node.
struct chain_step {
  uint64_t fork = 0;              ///< highest height still agreeing with what was seen
  uint32_t reorg_depth = 0;       ///< blocks seen before that the node replaced or lost
  std::vector<block_info> blocks; ///< new blocks of the node's best chain above fork
};

class chain_follower {
public:
  // -- constructors -----------------------------------------------------------

  /// Remembers `window_blocks` recent hashes (enough for any reorg worth reporting) and reads
  /// at most `blocks_per_look_max` blocks per look.
  explicit chain_follower(uint64_t window_blocks = 1000, uint64_t blocks_per_look_max = 200);

  // -- properties -------------------------------------------------------------

  bool started() const { return !chain_.empty(); }
  /// The highest height seen and its hash (started() only).
  uint64_t top() const { return chain_.rbegin()->first; }
  const std::string& top_hash() const { return chain_.rbegin()->second; }
  /// The hash seen at `height`, or null when not remembered.
  const std::string* hash_at(uint64_t height) const;
  /// The last look stopped below the node's tip: look again even if the tip did not move.
  bool behind() const { return behind_; }

  // -- following --------------------------------------------------------------

  /// Starts at the node's tip: known, not new.
  void start(uint64_t height, const std::string& tip);
  /// The node's best chain is now at `now`: its blocks new since the last look (started()
  /// only). Throws rpc_error when a call fails before anything was found (nothing changed
  /// then); a failure after a reorg or some blocks were found ends the look early, with what
  /// was found and `behind` set.
  chain_step follow(adapter& a, const node_status& now);

private:
  uint64_t window_blocks_;
  uint64_t blocks_per_look_max_;
  std::map<uint64_t, std::string> chain_; ///< height -> hash of the best chain as last seen
  bool behind_ = false;
};

} // namespace troupe::backends::adapters
