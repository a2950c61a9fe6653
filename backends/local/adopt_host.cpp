// Adopting the host that replaced a lost one: on k8s with "kill": "delete_pod", a kill
// deletes the node's pod and its StatefulSet makes it again, with the same name, a new
// address and an empty emptyDir. A later start or restart of the node takes that pod: its
// agent is connected (hosts::revive), the host's address changes in the world, the node's
// settings are rendered again with it and added to the new agent, the link relays that lived
// in the old pod are made again at their ports (with every link change made so far), and the
// relays of the other hosts that dial the node point to its new address. The node then starts
// afresh (its data went with the old pod) and catches up from its peers.
//
// Only a node that every peer reaches through a link relay can move: a peer that dials its
// address directly (no relays: "fabric": false, or a program that joins every member) has the
// old address in its own settings, so the start is refused with why.

#include <algorithm>

#include "actors/errors.hpp"
#include "backends/local/local_backend.hpp"

namespace troupe::backends::local {

namespace {

bool contains(const std::vector<size_t>& xs, size_t x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

} // namespace

std::optional<std::string> local_backend::adoption_refusal(size_t host) const {
  const auto& w = *world_;
  for (size_t i = 0; i < w.nodes.size(); ++i) {
    if (w.nodes[i].host != host)
      continue;
    const auto& id = w.nodes[i].info.id;
    if ((i < w.netns.size() && w.netns[i]) || (i < w.clocks.size() && w.clocks[i]))
      return "node " + id +
             "'s host was replaced, and a node in a network namespace or with a "
             "libfaketime clock cannot move to the new one";
    for (size_t j = 0; j < w.nodes.size(); ++j)
      if (j != i && !w.nodes[j].peer_endpoints.count(i) && contains(w.dialled(j), i))
        return "node " + id + "'s host was replaced at a new address, but node " +
               w.nodes[j].info.id + " dials its old address directly (not through a link relay: " +
               "backend param \"fabric\": false, or a program that joins every member), so " + id +
               " stays down; run with relays, or use \"kill\": \"signal\"";
  }
  return std::nullopt;
}

std::string local_backend::adopt_host(size_t host) {
  std::lock_guard<std::mutex> guard{adopting_};
  if (torn_down_)
    return "the run is ending";
  if (auto no = adoption_refusal(host))
    return *no;
  std::optional<hosts::started> fresh;
  try {
    fresh = hosts_->revive(host);
  } catch (const std::exception& e) {
    return e.what();
  }
  if (!fresh)
    return "the " + hosts_->backend() + " backend has no host to replace host " +
           std::to_string(host) + " with";
  auto& w = *world_;
  {
    std::lock_guard<std::mutex> lock{w.addresses_mutex};
    auto& h = w.hosts[host];
    h.address = fresh->where.address;
    h.ipv4 = fresh->where.ipv4;
    h.reach_address = fresh->where.reach_address;
  }
  std::vector<size_t> here;
  for (size_t i = 0; i < w.nodes.size(); ++i)
    if (w.nodes[i].host == host)
      here.push_back(i);
  std::vector<process_options> opts(here.size());
  try {
    for (auto i : here) {
      auto& node = w.nodes[i];
      node.vars["host"] = fresh->where.address;
      auto endpoint = endpoint_of(i);
      std::map<size_t, std::string> peer_endpoints;
      for (const auto& kv : node.peer_endpoints)
        peer_endpoints[kv.first] = relayed_endpoint(i, kv.first);
      {
        std::lock_guard<std::mutex> lock{w.addresses_mutex};
        node.endpoint = std::move(endpoint);
        for (auto& kv : node.peer_endpoints)
          kv.second = peer_endpoints[kv.first];
      }
      auto po = render_command(i, w.sup->options(node.slot).binary);
      render_settings(i, po);
      opts.at(w.sup->host_slot(node.slot)) = std::move(po);
    }
    w.sup->reattach_host(host, fresh->agent, std::move(opts));
    std::vector<std::string> ids;
    for (auto i : here)
      ids.push_back(w.nodes[i].info.id);
    nlohmann::json seen{
      {"host", fresh->where.name}, {"address", fresh->where.address}, {"nodes", ids}};
    if (w.fabric) {
      const auto moved = w.fabric->reattach_host(host, fresh->agent, fresh->where.ipv4, ids);
      seen["relays_made_again"] = moved.relays_made_again;
      seen["relays_pointed_here"] = moved.relays_pointed_here;
    }
    adopted_.push_back(std::move(seen));
    if (w.agent_polls)
      for (auto i : here)
        watch(i);
  } catch (const std::exception& e) {
    return "the pod that replaced host " + fresh->where.name +
           " could not take its nodes: " + e.what();
  }
  return {};
}

} // namespace troupe::backends::local
