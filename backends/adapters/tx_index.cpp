#include "backends/adapters/tx_index.hpp"

namespace troupe::backends::adapters {

void tx_index::add(const std::string& real_id, const std::string& troupe_id) {
  std::lock_guard<std::mutex> guard{mutex_};
  by_real_[real_id] = troupe_id;
}

std::vector<std::string> tx_index::troupe_ids(const std::vector<std::string>& real) const {
  std::lock_guard<std::mutex> guard{mutex_};
  std::vector<std::string> out;
  for (const auto& r : real)
    if (auto it = by_real_.find(r); it != by_real_.end())
      out.push_back(it->second);
  return out;
}

void tx_index::landed(uint64_t height, const std::string& troupe_id) {
  std::lock_guard<std::mutex> guard{mutex_};
  by_height_.emplace(height, troupe_id);
}

std::vector<std::string> tx_index::landed_between(uint64_t after, uint64_t upto) const {
  std::lock_guard<std::mutex> guard{mutex_};
  std::vector<std::string> out;
  for (auto it = by_height_.upper_bound(after); it != by_height_.end() && it->first <= upto; ++it)
    out.push_back(it->second);
  return out;
}

} // namespace troupe::backends::adapters
