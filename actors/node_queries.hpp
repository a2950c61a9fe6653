#pragma once
// Questions asked of many nodes at once through the node protocol, for any actor type.

#include <chrono>
#include <memory>
#include <vector>

#include <caf/all.hpp>

#include "actors/backend.hpp"
#include "actors/node_protocol.hpp"
#include "actors/run_context.hpp"

namespace troupe {

/// Asks every node for its status and calls `done(statuses)` once, in node order. A node
/// that errs or stays silent past `timeout` is reported as {id, up = false}.
template <class Self, class F>
void collect_status_each(Self* self, const std::vector<node_handle>& nodes, std::shared_ptr<F> fn,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto results = std::make_shared<std::vector<node_status>>(nodes.size());
  auto pending = std::make_shared<size_t>(nodes.size());
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

/// The status of every node of the run, in node order, as one callback. One question to the
/// world's fabric when it can answer for all nodes at once (the simulator's can: a thousand
/// nodes polled every second would otherwise cost two thousand messages a second); one
/// question per node otherwise. `done` may be a mutable callable (e.g. one delivering a
/// response promise); it is called exactly once.
template <class Self, class F>
void collect_status(Self* self, const run_context& ctx, F done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto fn = std::make_shared<F>(std::move(done));
  const run_context* c = &ctx; // owned by the caller's state for the whole run
  if (!ctx.fabric) {
    collect_status_each(self, ctx.nodes, fn, timeout);
    return;
  }
  self->request(ctx.fabric, timeout, get_status_atom::value)
    .then(
      [=](const std::vector<node_status>& all) {
        if (all.size() == c->nodes.size())
          (*fn)(all);
        else
          collect_status_each(self, c->nodes, fn, timeout);
      },
      [=](caf::error&) { collect_status_each(self, c->nodes, fn, timeout); });
}

/// Answers an `evaluate` request with `judge(statuses)` once every node's status is in: the
/// usual last step of an expectation that judges the network as it stands at the end.
template <class Self, class Judge>
auto judge_with_status(Self* self, const run_context& ctx, Judge judge) {
  auto rp = self->template make_response_promise<verdict>();
  collect_status(self, ctx, [rp, judge](const std::vector<node_status>& all) mutable {
    rp.deliver(judge(all));
  });
  return rp;
}

/// Subscribes `self` to every node's block stream (block_event messages follow). A request,
/// so the node's acknowledgement is consumed here instead of reaching `self`'s behavior.
/// `kinds`: the events wanted. The default is finalized events only: every in-tree caller
/// (runner, safety, tx_inclusion) reads nothing else, and at 1,000 simulated nodes the
/// `added` events they dropped (one per block per node, with every transaction id) were
/// ~15% of a run. Pass blocks_all to see blocks as they are added (and reorgs).
template <class Self>
void subscribe_all(Self* self, const std::vector<node_handle>& nodes,
                   block_filter kinds = blocks_finalized) {
  for (const auto& n : nodes)
    self
      ->request(n.actor, std::chrono::seconds(60), subscribe_atom::value,
                caf::actor_cast<caf::actor>(self), kinds)
      .then([](bool) {}, [](caf::error&) {});
}

/// Nearest-rank percentile of an ascending-sorted sample (0 when empty).
template <class T> T percentile(const std::vector<T>& sorted, double p) {
  if (sorted.empty())
    return T{};
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::min(std::max<size_t>(rank, 1), sorted.size());
  return sorted[rank - 1];
}

} // namespace troupe
