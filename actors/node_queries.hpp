#pragma once
// Questions asked of many nodes at once through the node protocol, for any actor type.

#include <chrono>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "actors/backend.hpp"
#include "actors/node_protocol.hpp"

namespace troupe {

/// Asks every node for its status and calls `done(statuses)` once, in node order. A node
/// that errs or stays silent past `timeout` is reported as {id, up = false}.
template <class Self, class F>
void collect_status(Self* self, const std::vector<node_handle>& nodes, F done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto results = std::make_shared<std::vector<node_status>>(nodes.size());
  auto pending = std::make_shared<size_t>(nodes.size());
  // Shared so that a mutable callback (e.g. one delivering a response promise) is called
  // from whichever reply comes last.
  auto fn = std::make_shared<F>(std::move(done));
  if (nodes.empty()) {
    (*fn)(*results);
    return;
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    (*results)[i].id = nodes[i].id;
    self->request(nodes[i].actor, timeout, get_status_atom::value)
      .then(
        [=](const node_status& st) {
          (*results)[i] = st;
          if (--*pending == 0)
            (*fn)(*results);
        },
        [=](caf::error&) {
          if (--*pending == 0)
            (*fn)(*results);
        });
  }
}

/// Subscribes `self` to every node's block stream (block_event messages follow). A request,
/// so the node's acknowledgement is consumed here instead of reaching `self`'s behavior.
template <class Self>
void subscribe_all(Self* self, const std::vector<node_handle>& nodes) {
  for (const auto& n : nodes)
    self->request(n.actor, std::chrono::seconds(60), subscribe_atom::value,
                  caf::actor_cast<caf::actor>(self))
      .then([](bool) {}, [](caf::error&) {});
}

/// Nearest-rank percentile of an ascending-sorted sample (0 when empty).
template <class T>
T percentile(const std::vector<T>& sorted, double p) {
  if (sorted.empty())
    return T{};
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::min(std::max<size_t>(rank, 1), sorted.size());
  return sorted[rank - 1];
}

} // namespace troupe
