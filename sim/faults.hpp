#pragma once
// Network faults of the simulated world: partitions between node sets (symmetric or one-way),
// isolated nodes, and clogs (a node or link holds its traffic until a virtual instant).
// Crash, restart and pause act on nodes and live in the world; this file is only the fabric.
// Everything is empty until used: the common case (no fault) costs one branch per message.

#include <cstdint>
#include <map>
#include <vector>

#include "sim/kernel.hpp"

namespace troupe::sim {

using node_index = uint32_t;

class faults {
public:
  // -- partitions -------------------------------------------------------------

  /// Cuts traffic from `a` to `b`, and from `b` to `a` when `symmetric`.
  void partition(std::vector<node_index> a, std::vector<node_index> b, bool symmetric);

  /// Cuts every link of `i`, both directions.
  void isolate(node_index i);

  /// Removes `i` from every partition and ends its isolation.
  void heal(node_index i);

  /// Ends every partition and isolation (clogs run out on their own).
  void heal_all();

  /// Whether traffic `from -> to` is cut right now.
  bool blocked(node_index from, node_index to) const {
    if (!active_)
      return false;
    return blocked_slow(from, to);
  }

  // -- clogs ------------------------------------------------------------------

  /// Holds all traffic from and to `i` until `until`.
  void clog(node_index i, duration until);

  /// Holds traffic between `a` and `b` (both directions) until `until`.
  void clog_link(node_index a, node_index b, duration until);

  /// The earliest departure for `from -> to` (0 when nothing is clogged).
  duration clogged_until(node_index from, node_index to) const {
    if (!clogged_)
      return duration{0};
    return clogged_until_slow(from, to);
  }

private:
  struct cut {
    std::vector<node_index> a; ///< sorted
    std::vector<node_index> b; ///< sorted
    bool symmetric = true;
  };

  bool blocked_slow(node_index from, node_index to) const;
  duration clogged_until_slow(node_index from, node_index to) const;
  void update_active();

  std::vector<cut> cuts_;
  std::vector<uint8_t> isolated_; ///< sized lazily, on the first isolate
  size_t isolated_count_ = 0;
  bool active_ = false;
  std::vector<duration> node_clog_; ///< sized lazily, on the first node clog
  std::map<uint64_t, duration> link_clog_;
  bool clogged_ = false;
};

} // namespace troupe::sim
