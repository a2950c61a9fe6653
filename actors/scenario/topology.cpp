#include "actors/scenario/topology.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include "actors/random.hpp"
#include "actors/units.hpp"

namespace troupe {

namespace {

using edge_set = std::set<std::pair<uint32_t, uint32_t>>;

void add_edge(edge_set& edges, uint32_t a, uint32_t b) {
  if (a != b)
    edges.emplace(std::min(a, b), std::max(a, b));
}

// A connected graph where every node has at least `degree` peers (capped at n-1): a random
// ring over a seeded permutation makes it connected, then each node, in order, takes random
// partners, preferring nodes still short of the degree so degrees stay close to the target.
void random_layout(edge_set& edges, uint32_t n, uint32_t degree, uint64_t seed) {
  degree = std::min(degree, n - 1);
  if (degree >= n - 1) {
    for (uint32_t a = 0; a < n; ++a)
      for (uint32_t b = a + 1; b < n; ++b)
        add_edge(edges, a, b);
    return;
  }
  auto gen = rng::stream(seed, "topology.random");
  std::vector<uint32_t> order(n);
  for (uint32_t i = 0; i < n; ++i)
    order[i] = i;
  for (uint32_t i = n - 1; i > 0; --i)
    std::swap(order[i], order[gen.below(i + 1)]);
  std::vector<std::set<uint32_t>> adj(n);
  auto link = [&](uint32_t a, uint32_t b) {
    adj[a].insert(b);
    adj[b].insert(a);
    add_edge(edges, a, b);
  };
  for (uint32_t i = 0; i + 1 < n; ++i)
    link(order[i], order[i + 1]);
  if (n > 2 && degree >= 2)
    link(order[n - 1], order[0]);
  for (uint32_t a = 0; a < n; ++a) {
    // Bounded: each draw either adds an edge or counts against the cap; after the cap, a
    // linear scan finishes the node deterministically.
    uint32_t attempts = 0;
    while (adj[a].size() < degree && attempts < 16 * degree) {
      ++attempts;
      uint32_t b = static_cast<uint32_t>(gen.below(n));
      if (b == a || adj[a].count(b) || (adj[b].size() >= degree && attempts < 8 * degree))
        continue;
      link(a, b);
    }
    for (uint32_t b = 0; adj[a].size() < degree && b < n; ++b)
      if (b != a && !adj[a].count(b))
        link(a, b);
  }
}

} // namespace

int64_t expanded_topology::find(const std::string& id) const {
  for (const auto& n : nodes)
    if (n.id == id)
      return n.index;
  return -1;
}

namespace {

/// A link is as slow as its worst end.
link_profile slower(const link_profile& la, const link_profile& lb) {
  link_profile l;
  l.latency = std::max(la.latency, lb.latency);
  l.jitter = std::max(la.jitter, lb.jitter);
  l.loss = std::max(la.loss, lb.loss);
  l.transport = std::max(la.transport, lb.transport);
  if (la.bandwidth_bps == 0 || lb.bandwidth_bps == 0)
    l.bandwidth_bps = std::max(la.bandwidth_bps, lb.bandwidth_bps);
  else
    l.bandwidth_bps = std::min(la.bandwidth_bps, lb.bandwidth_bps);
  l.given = la.given || lb.given;
  return l;
}

} // namespace

link_profile expanded_topology::link_between(uint32_t a, uint32_t b) const {
  // Each node carries its group's profile (or the topology's).
  return slower(nodes[a].link, nodes[b].link);
}

std::optional<link_profile> expanded_topology::given_link_between(uint32_t a, uint32_t b) const {
  const auto& la = nodes[a].link;
  const auto& lb = nodes[b].link;
  if (la.given && lb.given)
    return slower(la, lb);
  if (la.given || lb.given)
    return la.given ? la : lb;
  return std::nullopt;
}

topology_size size_of(const topology& t) {
  topology_size out;
  for (const auto& g : t.groups)
    out.nodes += g.count;
  const uint64_t n = out.nodes;
  switch (t.layout.kind) {
    case layout_kind::star:
    case layout_kind::chain:
      out.links = n > 0 ? n - 1 : 0;
      break;
    case layout_kind::ring:
      out.links = n > 2 ? n : (n > 0 ? n - 1 : 0);
      break;
    case layout_kind::mesh:
      // Saturates: past 2^32 nodes the product would wrap (and is far past any limit).
      out.links = n > (1ull << 32) ? UINT64_MAX : n * (n > 0 ? n - 1 : 0) / 2;
      break;
    case layout_kind::random: {
      // Every node gets at least `degree` peers (capped at n-1, then it is a mesh).
      const uint64_t d = std::min<uint64_t>(std::max<uint32_t>(1, t.layout.degree), n ? n - 1 : 0);
      out.links = (n * d + 1) / 2;
      out.links_exact = n < 2 || d >= n - 1;
      break;
    }
  }
  return out;
}

expanded_topology expand(const scenario& s) {
  expanded_topology t;
  for (const auto& g : s.topology.groups)
    for (uint32_t i = 0; i < g.count; ++i) {
      node_info n;
      n.id = g.name + "-" + std::to_string(i);
      n.group = g.name;
      n.role = g.role;
      n.index = static_cast<uint32_t>(t.nodes.size());
      n.group_index = i;
      n.spec = g.node;
      n.link = g.link ? *g.link : s.topology.link;
      t.nodes.push_back(std::move(n));
    }
  const auto n = static_cast<uint32_t>(t.nodes.size());
  edge_set edges;
  switch (s.topology.layout.kind) {
    case layout_kind::star:
      for (uint32_t i = 1; i < n; ++i)
        add_edge(edges, 0, i);
      break;
    case layout_kind::chain:
      for (uint32_t i = 0; i + 1 < n; ++i)
        add_edge(edges, i, i + 1);
      break;
    case layout_kind::ring:
      for (uint32_t i = 0; i + 1 < n; ++i)
        add_edge(edges, i, i + 1);
      if (n > 2)
        add_edge(edges, n - 1, 0);
      break;
    case layout_kind::mesh:
      for (uint32_t a = 0; a < n; ++a)
        for (uint32_t b = a + 1; b < n; ++b)
          add_edge(edges, a, b);
      break;
    case layout_kind::random:
      if (n > 1)
        random_layout(edges, n, std::max<uint32_t>(1, s.topology.layout.degree), s.seed);
      break;
  }
  t.edges.assign(edges.begin(), edges.end());
  t.peers.resize(n);
  for (const auto& [a, b] : t.edges) {
    t.peers[a].push_back(b);
    t.peers[b].push_back(a);
  }
  for (auto& p : t.peers)
    std::sort(p.begin(), p.end());
  return t;
}

std::string to_dot(const scenario& s, const expanded_topology& t) {
  static constexpr const char* palette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                            "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};
  std::ostringstream out;
  out << "graph \"" << s.name << "\" {\n  layout=neato; overlap=false;\n"
      << "  node [shape=circle, style=filled, fontcolor=white, fontsize=9];\n";
  for (size_t gi = 0; gi < s.topology.groups.size(); ++gi)
    for (const auto& n : t.nodes)
      if (n.group == s.topology.groups[gi].name)
        out << "  \"" << n.id << "\" [fillcolor=\"" << palette[gi % 8] << "\"];\n";
  for (const auto& [a, b] : t.edges)
    out << "  \"" << t.nodes[a].id << "\" -- \"" << t.nodes[b].id << "\";\n";
  out << "}\n";
  return out.str();
}

std::string to_text(const scenario& s, const expanded_topology& t) {
  std::ostringstream out;
  const char* layout = to_string(s.topology.layout.kind);
  out << "scenario " << s.name << ": " << t.nodes.size() << " nodes, " << t.edges.size()
      << " links, layout " << layout;
  if (s.topology.layout.kind == layout_kind::random)
    out << " (degree " << s.topology.layout.degree << ", seed " << s.seed << ")";
  out << "\n";
  for (const auto& n : t.nodes) {
    out << n.id << " [" << n.role << "] latency " << format_duration(n.link.latency) << " peers:";
    for (auto p : t.peers[n.index])
      out << ' ' << t.nodes[p].id;
    out << "\n";
  }
  return out.str();
}

} // namespace troupe
