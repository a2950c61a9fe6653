#pragma once
// One node's chain as a proxy has reported it to the run: each block it reported (with the
// troupe ids of its transactions) and how far it reported them final. It turns what is new
// on the node — blocks through chain_follower, bare heights (nodes without blocks), or an
// agent's summary — into the block events the run's observers get, and the finalized events
// `finality_depth` below the top, each once. The local and attach proxies share it.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/node_types.hpp"
#include "backends/adapters/adapter.hpp"
#include "backends/adapters/chain_follower.hpp"
#include "backends/adapters/tx_index.hpp"

namespace troupe::backends::adapters {

class reported_chain {
public:
  // -- constructors -----------------------------------------------------------

  /// Remembers the `window` most recent blocks (enough for any reorg worth reporting).
  reported_chain(std::string node, uint64_t finality_depth, const tx_index& txs,
                 size_t window = 1000);

  // -- properties -------------------------------------------------------------

  bool started() const { return started_; }
  uint64_t finality_depth() const { return depth_; }
  /// The hash reported at `height`, or null when not remembered.
  const std::string* hash_at(uint64_t height) const;
  /// A node with blocks needs a look: its tip moved, or the last look stopped below it.
  bool needs_look(const node_status& now) const;

  // -- following --------------------------------------------------------------

  /// The node's first status: its tip is known, not new; what is final below it was final
  /// before the run's observers looked.
  void start(const node_status& now);
  /// One look at a node through its adapter, as both proxies poll: the first status starts
  /// the chain; later ones report what is new (blocks, or heights for nodes without blocks),
  /// then what became final. Throws rpc_error as chain_follower does.
  std::vector<block_event> look(adapter& a, const node_status& now, int64_t time_ns);
  /// Blocks new on a node with blocks (read through `a`), never skipping one; the first
  /// carries the depth of the reorg it caused. Throws rpc_error as chain_follower does.
  std::vector<block_event> follow_blocks(adapter& a, const node_status& now, int64_t time_ns);
  /// A node without blocks: each new height is one block holding the transactions that
  /// landed since the previous one.
  std::vector<block_event> follow_heights(const node_status& now, int64_t time_ns);
  /// The blocks an agent's summary carries (new on the node's best chain, oldest first);
  /// blocks above its `fork` are gone.
  std::vector<block_event> apply_summary(const nlohmann::json& summary, int64_t time_ns);
  /// The finalized events not reported yet, up to finality_depth below the top; forgets
  /// blocks past the window.
  std::vector<block_event> finalize(int64_t time_ns);

private:
  struct known_block {
    std::string hash;
    std::vector<std::string> txs; ///< troupe ids
  };

  block_event event(block_event::kind_t kind, uint64_t height, const std::string& hash,
                    std::string parent, int64_t time_ns, std::vector<std::string> txs) const;
  block_event added(const block_info& b, uint32_t reorg, int64_t time_ns);

  std::string node_;
  uint64_t depth_;
  const tx_index& txs_;
  size_t window_;
  /// The best chain as last reported. May be empty after the node lost its chain.
  std::map<uint64_t, known_block> chain_;
  chain_follower follower_;
  uint64_t final_emitted_ = 0;
  bool started_ = false;
};

} // namespace troupe::backends::adapters
