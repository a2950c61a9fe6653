#pragma once
// Which host runs which node. Spread by default: each node goes to the eligible host with the
// fewest nodes so far (inventory order breaks ties), never over a host's nodes_max. A group
// is tied to a label when the backend param "placement" maps it ({"miners": "big"}), or when
// some host carries a label equal to the group's name: its nodes then go only to hosts with
// that label. Tied groups are placed first, so that the free hosts are left to the others.

#include <map>
#include <string>
#include <vector>

#include "actors/scenario/topology.hpp"
#include "backends/ssh/inventory.hpp"

namespace troupe::backends::ssh {

struct placement {
  std::vector<size_t> host_of; ///< per node (topology order): index into the inventory
  /// Nodes per host (inventory order).
  std::vector<std::vector<size_t>> nodes_on;
};

/// Places every node, or throws user_error with one sentence (a label no host has, more nodes
/// than the eligible hosts' nodes_max allow) naming the group and the fix.
placement place(const expanded_topology& t, const inventory& inv,
                const std::map<std::string, std::string>& group_labels);

/// One line per host: "a1 (10.0.0.5:22) [miners]: miner-0 miner-2", hosts without nodes too.
std::string describe_placement(const placement& p, const expanded_topology& t,
                               const inventory& inv);

} // namespace troupe::backends::ssh
