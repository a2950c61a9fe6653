#include "backends/local/summary_board.hpp"

namespace troupe::backends::local {

void summary_board::post(const nlohmann::json& summary) {
  auto it = summary.find("slot");
  if (it == summary.end() || !it->is_number_unsigned())
    return;
  std::lock_guard<std::mutex> guard{mutex_};
  auto& q = pending_[it->get<size_t>()];
  q.push_back(summary);
  while (q.size() > pending_max) {
    q.pop_front();
    ++dropped_;
  }
}

std::vector<nlohmann::json> summary_board::take(size_t slot) {
  std::lock_guard<std::mutex> guard{mutex_};
  auto it = pending_.find(slot);
  if (it == pending_.end())
    return {};
  std::vector<nlohmann::json> out(std::make_move_iterator(it->second.begin()),
                                  std::make_move_iterator(it->second.end()));
  it->second.clear();
  return out;
}

size_t summary_board::dropped() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return dropped_;
}

} // namespace troupe::backends::local
