#include "sim/faults.hpp"

#include <algorithm>

namespace troupe::sim {

namespace {

bool contains(const std::vector<node_index>& xs, node_index x) {
  return std::binary_search(xs.begin(), xs.end(), x);
}

uint64_t link_key(node_index from, node_index to) { return static_cast<uint64_t>(from) << 32 | to; }

} // namespace

void faults::update_active() { active_ = !cuts_.empty() || isolated_count_ > 0; }

void faults::partition(std::vector<node_index> a, std::vector<node_index> b, bool symmetric) {
  std::sort(a.begin(), a.end());
  a.erase(std::unique(a.begin(), a.end()), a.end());
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  if (a.empty() || b.empty())
    return;
  cuts_.push_back(cut{std::move(a), std::move(b), symmetric});
  update_active();
}

void faults::isolate(node_index i) {
  if (isolated_.size() <= i)
    isolated_.resize(static_cast<size_t>(i) + 1, 0);
  if (!isolated_[i]) {
    isolated_[i] = 1;
    ++isolated_count_;
  }
  update_active();
}

void faults::heal(node_index i) {
  if (i < isolated_.size() && isolated_[i]) {
    isolated_[i] = 0;
    --isolated_count_;
  }
  for (auto& c : cuts_) {
    auto erase = [i](std::vector<node_index>& xs) {
      auto it = std::lower_bound(xs.begin(), xs.end(), i);
      if (it != xs.end() && *it == i)
        xs.erase(it);
    };
    erase(c.a);
    erase(c.b);
  }
  cuts_.erase(std::remove_if(cuts_.begin(), cuts_.end(),
                             [](const cut& c) { return c.a.empty() || c.b.empty(); }),
              cuts_.end());
  update_active();
}

void faults::heal_all() {
  cuts_.clear();
  isolated_.clear();
  isolated_count_ = 0;
  update_active();
}

bool faults::blocked_slow(node_index from, node_index to) const {
  if (isolated_count_ > 0) {
    if ((from < isolated_.size() && isolated_[from]) || (to < isolated_.size() && isolated_[to]))
      return true;
  }
  for (const auto& c : cuts_) {
    if (contains(c.a, from) && contains(c.b, to))
      return true;
    if (c.symmetric && contains(c.b, from) && contains(c.a, to))
      return true;
  }
  return false;
}

void faults::clog(node_index i, duration until) {
  if (node_clog_.size() <= i)
    node_clog_.resize(static_cast<size_t>(i) + 1, duration{0});
  node_clog_[i] = std::max(node_clog_[i], until);
  clogged_ = true;
}

void faults::clog_link(node_index a, node_index b, duration until) {
  auto& x = link_clog_[link_key(a, b)];
  x = std::max(x, until);
  auto& y = link_clog_[link_key(b, a)];
  y = std::max(y, until);
  clogged_ = true;
}

duration faults::clogged_until_slow(node_index from, node_index to) const {
  duration result{0};
  if (from < node_clog_.size())
    result = std::max(result, node_clog_[from]);
  if (to < node_clog_.size())
    result = std::max(result, node_clog_[to]);
  if (!link_clog_.empty()) {
    auto i = link_clog_.find(link_key(from, to));
    if (i != link_clog_.end())
      result = std::max(result, i->second);
  }
  return result;
}

} // namespace troupe::sim
