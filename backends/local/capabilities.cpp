#include "backends/local/capabilities.hpp"

#include <algorithm>
#include <set>

#include "backends/agent/clock_skew.hpp"
#include "backends/agent/netns.hpp"
#include "backends/local/node_namespaces.hpp"

namespace troupe::backends::local {

namespace {

std::string adapter_kind(const program& p) {
  return p.adapter.is_object() ? p.adapter.value("kind", std::string{}) : std::string{};
}

/// The adapter can cut and rejoin peers itself (litecoind: setban, addnode, disconnectnode).
bool adapter_cuts(const program& p) { return adapter_kind(p) == "bitcoin-rpc"; }

} // namespace

bool capabilities::namespaced(const program& p) const { return local::namespaced(p, limits_); }

std::optional<std::string> capabilities::relay_refusal(const program& p) const {
  const std::string same_list =
    "program " + p.name +
    " gives every member the same peer list (join scope \"all\"; etcd, for one, derives its "
    "cluster identity from the peer URLs every member advertises), so its peer traffic reaches "
    "link relays only from a network namespace per node";
  if (p.join_scope == "all" && p.join_port.empty())
    return same_list + ", and it does not name the port its peers dial (\"join\": {\"port\": "
                       "...}): add it to the program file";
  if (p.join_scope == "all") {
    if (limits_.no_netns)
      return same_list + ", and " + *limits_.no_netns;
    if (auto why = agent::netns_refusal(); why && limits_.netns_here)
      return same_list + ", and " + *why;
    return std::nullopt;
  }
  if (p.join_port.empty())
    return "program " + p.name +
           " does not name the port its peers dial (\"join\": {\"port\": ...}), so the local "
           "backend cannot put link relays between its nodes: add it to the program file";
  return std::nullopt;
}

bool capabilities::cuttable(const program& p) const { return relayed(p) || adapter_cuts(p); }

std::optional<std::string> capabilities::network_refusal(const program& p,
                                                         const std::string& action,
                                                         const fault_request& r) const {
  if (relayed(p)) {
    if (action == "set_link" && r.link.loss > 0 && !namespaced(p))
      return "packet loss is not supported for program " + p.name +
             ": its link relays carry TCP byte streams, where a lost packet is only a "
             "retransmission delay; packet drop rules need each node in its own network "
             "namespace, which the local backend gives only to programs whose members share one "
             "peer list (join scope \"all\", e.g. etcd); latency, jitter and bandwidth work";
    return std::nullopt;
  }
  auto no_relay = relay_refusal(p);
  std::string why =
    no_relay ? *no_relay
             : std::string("the local backend's link fabric is off (backend param \"fabric\": "
                           "false), so its link relays are not there");
  // Without relays, litecoind's own peer controls still cut whole connections.
  const bool two_way_cut = action == "isolate" || (action == "partition" && r.symmetric);
  if (two_way_cut && adapter_cuts(p))
    return std::nullopt;
  if (action == "partition" && !r.symmetric && adapter_cuts(p))
    return "one-way partitions need link relays (real connections are two-way): " + why;
  return why;
}

std::optional<std::string> capabilities::skew_refusal(const program& p) {
  std::string binary;
  try {
    binary = resolve_binary(p);
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  if (auto why = agent::clock_skew_refusal(binary))
    return "program " + p.name + ": " + *why;
  return std::nullopt;
}

std::string capabilities::byzantine_refusal() {
  return "Byzantine behaviours (equivocation, withholding, invalid blocks, twins) are not "
         "supported by the local backend: a real node program has no mode that makes it lie, "
         "and the local backend cannot forge its blocks; run the scenario with --backend sim, "
         "whose chain model has them";
}

std::optional<std::string> capabilities::refusal(const fault_request& r) const {
  control_action ca;
  const bool control = parse_control_action(r.action, ca);
  // Signals and respawn work for every program; a heal where nothing can be cut has nothing
  // to do, and so succeeds.
  if ((control && ca != control_action::isolate) || r.action == "heal_all")
    return std::nullopt;
  if (r.action == "byzantine")
    return byzantine_refusal();
  if (!control && r.action != "partition" && r.action != "set_link" && r.action != "clog" &&
      r.action != "skew")
    return "the local backend does not know the action \"" + r.action + "\"";
  std::set<const program*> seen;
  for (const auto& n : nodes_) {
    if (!n.prog || seen.count(n.prog))
      continue;
    if (!r.nodes.empty() && std::find(r.nodes.begin(), r.nodes.end(), n.id) == r.nodes.end())
      continue;
    seen.insert(n.prog);
    if (r.action == "skew") {
      if (limits_.no_skew)
        return limits_.no_skew;
      if (auto why = skew_refusal(*n.prog))
        return why;
      continue;
    }
    if (auto why = network_refusal(*n.prog, r.action, r))
      return why;
  }
  return std::nullopt;
}

} // namespace troupe::backends::local
