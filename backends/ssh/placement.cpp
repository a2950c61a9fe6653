#include "backends/ssh/placement.hpp"

#include <algorithm>
#include <set>

#include "actors/errors.hpp"

namespace troupe::backends::ssh {

namespace {

/// The label a group is tied to ("" for none).
std::string label_of(const std::string& group, const inventory& inv,
                     const std::map<std::string, std::string>& group_labels) {
  if (auto it = group_labels.find(group); it != group_labels.end())
    return it->second;
  for (const auto& h : inv.hosts)
    if (h.has_label(group))
      return group;
  return "";
}

size_t capacity(const ssh_host& h) { return h.nodes_max == 0 ? SIZE_MAX : h.nodes_max; }

} // namespace

placement place(const expanded_topology& t, const inventory& inv,
                const std::map<std::string, std::string>& group_labels) {
  placement p;
  p.host_of.assign(t.nodes.size(), SIZE_MAX);
  p.nodes_on.resize(inv.hosts.size());
  for (const auto& [group, label] : group_labels) {
    bool any = false;
    for (const auto& h : inv.hosts)
      any = any || h.has_label(label);
    if (!any)
      throw user_error("the ssh backend's placement ties group \"" + group + "\" to label \"" +
                       label + "\", which no host of " + inv.source.string() +
                       " carries: add the label to some hosts' \"labels\", or drop the entry");
  }
  // Tied groups first (stable: topology order within each pass).
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& n : t.nodes) {
      const auto label = label_of(n.group, inv, group_labels);
      if (label.empty() == (pass == 0))
        continue;
      size_t best = SIZE_MAX;
      for (size_t h = 0; h < inv.hosts.size(); ++h) {
        const auto& host = inv.hosts[h];
        if ((!label.empty() && !host.has_label(label)) || p.nodes_on[h].size() >= capacity(host))
          continue;
        if (best == SIZE_MAX || p.nodes_on[h].size() < p.nodes_on[best].size())
          best = h;
      }
      if (best == SIZE_MAX) {
        size_t room = 0;
        for (const auto& host : inv.hosts)
          if (label.empty() || host.has_label(label))
            room += capacity(host) == SIZE_MAX ? 0 : capacity(host);
        throw user_error(
          "the ssh backend cannot place node " + n.id + ": the hosts" +
          (label.empty() ? std::string{} : " labelled \"" + label + "\"") + " of " +
          inv.source.string() + " hold " + std::to_string(room) +
          " nodes in all (their nodes_max) and are full: add hosts or raise their nodes_max");
      }
      p.host_of[n.index] = best;
      p.nodes_on[best].push_back(n.index);
    }
  }
  for (auto& on : p.nodes_on) // topology order on each host
    std::sort(on.begin(), on.end());
  return p;
}

std::string describe_placement(const placement& p, const expanded_topology& t,
                               const inventory& inv) {
  std::string out;
  for (size_t h = 0; h < inv.hosts.size(); ++h) {
    const auto& host = inv.hosts[h];
    out += "  " + host.describe();
    if (!host.labels.empty()) {
      out += " [";
      for (size_t i = 0; i < host.labels.size(); ++i)
        out += (i ? "," : "") + host.labels[i];
      out += "]";
    }
    out += ":";
    if (p.nodes_on[h].empty())
      out += " (no node)";
    for (auto i : p.nodes_on[h])
      out += " " + t.nodes[i].id;
    out += "\n";
  }
  return out;
}

} // namespace troupe::backends::ssh
