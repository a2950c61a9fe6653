#pragma once
// Topology expansion: from groups and a layout to the concrete node list (stable ids such as
// `validator-3`) and the peer graph. Deterministic: same scenario and seed, same graph.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "actors/scenario/scenario.hpp"

namespace troupe {

struct node_info {
  std::string id;           ///< `<group>-<index in group>`
  std::string group;
  std::string role;
  uint32_t index = 0;       ///< position in the whole node list
  uint32_t group_index = 0; ///< position within its group
  node_spec spec;
  link_profile link;        ///< the group's link profile, or the topology's
};

struct expanded_topology {
  std::vector<node_info> nodes;
  std::vector<std::pair<uint32_t, uint32_t>> edges; ///< undirected, first < second, sorted
  std::vector<std::vector<uint32_t>> peers;         ///< per node, sorted

  /// Index of the node with this id, or -1.
  int64_t find(const std::string& id) const;
  /// The link profile for the edge (a, b): a group override of either end wins over the
  /// topology's (the slower of two overrides when both ends have one).
  link_profile link_between(uint32_t a, uint32_t b) const;
};

expanded_topology expand(const scenario& s);

/// Graphviz dot (undirected graph, nodes coloured by group) and plain text renderings.
std::string to_dot(const scenario& s, const expanded_topology& t);
std::string to_text(const scenario& s, const expanded_topology& t);

} // namespace troupe
