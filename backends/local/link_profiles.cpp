#include "backends/local/link_profiles.hpp"

#include <string>
#include <vector>

#include "actors/errors.hpp"
#include "backends/local/node_namespaces.hpp"
#include "backends/local/world.hpp"

namespace troupe::backends::local {

void shape_written_links(world& w) {
  if (!w.fabric)
    return;
  std::vector<agent::link_change> changes;
  bool lossy = false;
  for (size_t i = 0; i < w.nodes.size(); ++i)
    for (const auto& [j, endpoint] : w.nodes[i].peer_endpoints) {
      (void) endpoint;
      auto l = w.topo.given_link_between(static_cast<uint32_t>(i), static_cast<uint32_t>(j));
      if (!l)
        continue;
      agent::link_shape sh;
      sh.latency_ns = l->latency.count();
      sh.jitter_ns = l->jitter.count();
      sh.bandwidth_bps = static_cast<int64_t>(l->bandwidth_bps);
      const auto& from = w.nodes[i].info.id;
      const auto& to = w.nodes[j].info.id;
      w.link_shapes[{from, to}] = sh;
      changes.push_back({agent::link_change::shape, from, to, sh});
      if (l->loss > 0 && i < w.netns.size() && w.netns[i] && j < w.netns.size() && w.netns[j]) {
        w.loss[{i, j}] = l->loss;
        lossy = true;
      }
    }
  try {
    if (!changes.empty())
      w.fabric->apply(changes);
    if (lossy)
      set_loss(w, {}, {}, 0); // every namespace's drop rules from w.loss, filled above
  } catch (const std::exception& e) {
    throw user_error(std::string("cannot shape the links by the scenario's link profile: ") +
                     e.what());
  }
}

} // namespace troupe::backends::local
