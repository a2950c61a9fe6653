#include "actors/link_requests.hpp"

#include <set>
#include <string>

#include "actors/errors.hpp"

namespace troupe {

link_cmd to_link_cmd(const link_profile& l) {
  link_cmd c;
  c.latency_ns = l.latency.count();
  c.jitter_ns = l.jitter.count();
  c.loss = l.loss;
  c.bandwidth_bps = static_cast<int64_t>(l.bandwidth_bps);
  return c;
}

std::vector<fault_request> link_profile_requests(const scenario& s, const expanded_topology& t) {
  std::vector<fault_request> out;
  std::set<std::string> own; // groups whose own link replaces the topology's
  for (const auto& g : s.topology.groups)
    if (g.link)
      own.insert(g.name);
  auto request = [&](std::string where, const link_profile& l, const std::string& group) {
    fault_request r;
    r.where = std::move(where);
    r.when = "the whole run";
    r.action = "set_link";
    r.link = to_link_cmd(l);
    for (const auto& n : t.nodes)
      if (group.empty() ? !own.count(n.group) : n.group == group)
        r.nodes.push_back(n.id);
    if (r.nodes.empty())
      return;
    r.link.from = r.nodes;
    out.push_back(std::move(r));
  };
  if (s.topology.link.given)
    request("topology.link", s.topology.link, "");
  for (size_t g = 0; g < s.topology.groups.size(); ++g) {
    const auto& group = s.topology.groups[g];
    if (group.link && group.link->given)
      request("topology.groups[" + std::to_string(g) + "].link", *group.link, group.name);
  }
  return out;
}

void refuse_unshapeable_links(const backend& b, const scenario& s, const expanded_topology& t) {
  for (const auto& r : link_profile_requests(s, t))
    if (auto why = b.refusal(r, s, t))
      throw user_error(r.where + ": the " + b.name() +
                       " backend cannot shape these links as written: " + *why +
                       "; remove what it cannot do from " + r.where +
                       " (the simulator keeps its defaults), or run with --backend sim");
}

} // namespace troupe
