#pragma once
// The transactions a deployment submitted, shared by all its proxies: the node's id of each
// (so that a block naming it carries the troupe id) and, for nodes that commit at once and
// have no blocks to list (http-json), the height each landed at — on whichever node took it,
// since every node of the network reaches that height with it.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace troupe::backends::adapters {

class tx_index {
public:
  void add(const std::string& real_id, const std::string& troupe_id);
  /// The troupe ids of those of `real` that were submitted here (in their order).
  std::vector<std::string> troupe_ids(const std::vector<std::string>& real) const;
  void landed(uint64_t height, const std::string& troupe_id);
  /// Troupe ids that landed in (after, upto].
  std::vector<std::string> landed_between(uint64_t after, uint64_t upto) const;

private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::string> by_real_;
  std::multimap<uint64_t, std::string> by_height_;
};

} // namespace troupe::backends::adapters
