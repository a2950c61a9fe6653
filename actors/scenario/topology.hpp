#pragma once
// Topology expansion: from groups and a layout to the concrete node list (stable ids such as
// `validator-3`) and the peer graph. Deterministic: same scenario and seed, same graph.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/scenario/scenario.hpp"

namespace troupe {

struct node_info {
  std::string id; ///< `<group>-<index in group>`
  std::string group;
  std::string role;
  uint32_t index = 0;       ///< position in the whole node list
  uint32_t group_index = 0; ///< position within its group
  node_spec spec;
  link_profile link; ///< the group's link profile, or the topology's
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
  /// What live backends shape the edge (a, b) by: the slower of the ends' profiles that the
  /// scenario gave (link_profile::given); none when neither end's was written.
  std::optional<link_profile> given_link_between(uint32_t a, uint32_t b) const;
};

/// Nodes in one run (the sum of the groups' counts). The simulator is measured up to 100,000
/// nodes (docs/kernel.md: 1.8 M deliveries/s there) and the chain model holds ~42 KB per
/// node (~4 GB at 100,000): a larger run is beyond what is measured and what one machine
/// holds. Validation refuses more, from the counts alone.
inline constexpr uint64_t topology_nodes_max = 100'000;

/// Peer links in one run. Expanding one costs ~64 bytes (the edge, two peer entries), and a
/// run adds per-link state on top: 5 M links is ~320 MB before the run starts. A mesh of
/// 100,000 nodes would be 5e9.
inline constexpr uint64_t topology_links_max = 5'000'000;

/// The size of a topology, computed from the counts and the layout without expanding it.
struct topology_size {
  uint64_t nodes = 0;
  uint64_t links = 0;      ///< exact, or for a random layout the least it can have
  bool links_exact = true; ///< false for a random layout (the seeded draw decides)
};
topology_size size_of(const topology& t);

/// Expects a validated scenario (within topology_nodes_max and topology_links_max).
expanded_topology expand(const scenario& s);

/// Graphviz dot (undirected graph, nodes coloured by group) and plain text renderings.
std::string to_dot(const scenario& s, const expanded_topology& t);
std::string to_text(const scenario& s, const expanded_topology& t);

} // namespace troupe
