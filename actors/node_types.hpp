#pragma once
// The values of the node protocol, without CAF: what a node reports and accepts. Simulated
// models and live adapters both produce these; workloads and expectations consume them.

#include <cstdint>
#include <string>
#include <vector>

namespace troupe {

/// What `get_status` returns. Heights count blocks above genesis (genesis is height 0).
struct node_status {
  std::string id;
  bool up = false;
  uint64_t height = 0;
  std::string tip;
  uint64_t final_height = 0;
  std::string final_tip;
  uint32_t peers = 0;
  uint32_t mempool = 0;
};

/// A transaction as a workload submits it. `id` is unique within a run.
struct transaction {
  std::string id;
  std::string from;
  std::string to;
  uint64_t amount = 0;
  uint32_t bytes = 0;
};

/// Reply to `submit_tx`.
struct tx_ack {
  bool accepted = false;
  std::string reason; ///< why it was rejected; empty when accepted
};

/// One entry of a node's block stream (`subscribe_blocks`).
struct block_event {
  enum kind_t : uint8_t { added = 0, finalized = 1 };
  kind_t kind = added;
  std::string node;
  uint64_t height = 0;
  std::string hash;
  std::string parent;
  int64_t time_ns = 0;          ///< run time (virtual in sim, wall since start live)
  uint32_t reorg_depth = 0;     ///< blocks rolled back to adopt this one (added only)
  std::vector<std::string> txs; ///< transaction ids in the block
  std::string producer;         ///< the identity that produced it, when the node tells (sim)
};

/// Node control verbs (`control`).
enum class control_action : uint8_t { stop, start, restart, kill, pause, resume, isolate, heal };

const char* to_string(control_action a) noexcept;
bool parse_control_action(const std::string& s, control_action& out) noexcept;

/// Reply to `control` and to fabric commands.
struct control_ack {
  bool ok = false;
  std::string error;
};

/// Network-level faults, sent to the world's fabric (not to one node).
struct partition_cmd {
  std::vector<std::vector<std::string>> sides; ///< node ids per side; traffic between sides is cut
  bool symmetric = true; ///< false: only traffic from sides[0] to the other sides is cut
};

/// Link properties for set_link (and the topology's link profile).
struct link_cmd {
  std::vector<std::string> from; ///< empty = every node
  std::vector<std::string> to;   ///< empty = every node
  int64_t latency_ns = -1;       ///< -1: unchanged
  int64_t jitter_ns = -1;
  double loss = -1;
  int64_t bandwidth_bps = -1;
};

/// Holds traffic between `from` and `to` (both directions) for `duration_ns`: nothing is
/// lost, everything held is delivered in order when the clog ends (or, live, at a heal).
struct clog_cmd {
  std::vector<std::string> from; ///< empty = every node
  std::vector<std::string> to;   ///< empty = every node
  int64_t duration_ns = 0;
};

/// Clock skew of one node as it sees time.
struct clock_skew_cmd {
  std::string node;
  int64_t offset_ns = 0;
  double drift_ppm = 0;
};

/// Makes a node Byzantine from now on (the `byzantine` workload): sent to a node handle.
/// A backend or model that cannot do it refuses with the reason.
struct byzantine_cmd {
  /// "equivocate", "withhold", "invalid" or "twin".
  std::string behaviour;
  std::string invalid; ///< invalid: "bad_parent", "oversized" or "bad_tx"
  std::string twin_of; ///< twin: the node whose identity (producer key, lottery) it takes
};

} // namespace troupe
