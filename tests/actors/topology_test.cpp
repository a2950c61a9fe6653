#include "actors/scenario/topology.hpp"

#include <queue>
#include <set>

#include <gtest/gtest.h>

using namespace troupe;

namespace {

scenario with_layout(layout_kind k, uint32_t n, uint32_t degree = 0, uint64_t seed = 1) {
  scenario s;
  s.name = "t";
  s.seed = seed;
  s.topology.layout = {k, degree};
  group g;
  g.name = "validator";
  g.role = "validator";
  g.count = n;
  g.node.model = "chain";
  s.topology.groups.push_back(g);
  return s;
}

bool connected(const expanded_topology& t) {
  if (t.nodes.empty())
    return true;
  std::vector<bool> seen(t.nodes.size());
  std::queue<uint32_t> q;
  q.push(0);
  seen[0] = true;
  size_t count = 1;
  while (!q.empty()) {
    auto a = q.front();
    q.pop();
    for (auto b : t.peers[a])
      if (!seen[b]) {
        seen[b] = true;
        ++count;
        q.push(b);
      }
  }
  return count == t.nodes.size();
}

} // namespace

TEST(topology, ids_are_stable_group_dash_index) {
  auto s = with_layout(layout_kind::mesh, 3);
  group o;
  o.name = "observer";
  o.role = "observer";
  o.count = 2;
  o.node.model = "chain";
  s.topology.groups.push_back(o);
  auto t = expand(s);
  ASSERT_EQ(t.nodes.size(), 5u);
  EXPECT_EQ(t.nodes[0].id, "validator-0");
  EXPECT_EQ(t.nodes[2].id, "validator-2");
  EXPECT_EQ(t.nodes[3].id, "observer-0");
  EXPECT_EQ(t.nodes[4].role, "observer");
  EXPECT_EQ(t.find("observer-1"), 4);
  EXPECT_EQ(t.find("observer-2"), -1);
}

TEST(topology, chain_has_n_minus_1_edges) {
  auto t = expand(with_layout(layout_kind::chain, 10));
  EXPECT_EQ(t.edges.size(), 9u);
  EXPECT_TRUE(connected(t));
  EXPECT_EQ(t.peers[0].size(), 1u);
  EXPECT_EQ(t.peers[5].size(), 2u);
}

TEST(topology, ring_has_n_edges_and_degree_2) {
  auto t = expand(with_layout(layout_kind::ring, 10));
  EXPECT_EQ(t.edges.size(), 10u);
  for (const auto& p : t.peers)
    EXPECT_EQ(p.size(), 2u);
}

TEST(topology, mesh_has_n_choose_2_edges) {
  auto t = expand(with_layout(layout_kind::mesh, 12));
  EXPECT_EQ(t.edges.size(), 12u * 11 / 2);
}

TEST(topology, star_connects_everyone_to_the_first_node) {
  auto t = expand(with_layout(layout_kind::star, 8));
  EXPECT_EQ(t.edges.size(), 7u);
  EXPECT_EQ(t.peers[0].size(), 7u);
  for (size_t i = 1; i < 8; ++i)
    EXPECT_EQ(t.peers[i], std::vector<uint32_t>{0});
}

TEST(topology, random_is_connected_with_the_asked_degree) {
  for (uint32_t n : {10u, 30u, 200u})
    for (uint32_t d : {2u, 3u, 8u}) {
      auto t = expand(with_layout(layout_kind::random, n, d, 42));
      EXPECT_TRUE(connected(t)) << n << "/" << d;
      size_t total = 0;
      for (const auto& p : t.peers) {
        EXPECT_GE(p.size(), std::min<size_t>(d, n - 1)) << n << "/" << d;
        total += p.size();
      }
      // Close to the asked degree on average: at most two above it.
      EXPECT_LE(static_cast<double>(total) / n, d + 2.0) << n << "/" << d;
      std::set<std::pair<uint32_t, uint32_t>> unique(t.edges.begin(), t.edges.end());
      EXPECT_EQ(unique.size(), t.edges.size());
      for (auto [a, b] : t.edges)
        EXPECT_LT(a, b);
    }
}

TEST(topology, random_same_seed_same_graph_other_seed_other_graph) {
  auto a = expand(with_layout(layout_kind::random, 50, 4, 7));
  auto b = expand(with_layout(layout_kind::random, 50, 4, 7));
  auto c = expand(with_layout(layout_kind::random, 50, 4, 8));
  EXPECT_EQ(a.edges, b.edges);
  EXPECT_NE(a.edges, c.edges);
}

TEST(topology, group_link_overrides_touch_only_their_nodes) {
  auto s = with_layout(layout_kind::mesh, 2);
  group slow;
  slow.name = "slow";
  slow.role = "observer";
  slow.count = 1;
  slow.node.model = "chain";
  slow.link = link_profile{std::chrono::milliseconds(300), {}, 0.1, 1'000'000};
  s.topology.groups.push_back(slow);
  auto t = expand(s);
  EXPECT_EQ(t.link_between(0, 1).latency, std::chrono::milliseconds(50));
  EXPECT_EQ(t.link_between(0, 2).latency, std::chrono::milliseconds(300));
  EXPECT_DOUBLE_EQ(t.link_between(2, 1).loss, 0.1);
  EXPECT_EQ(t.link_between(1, 2).bandwidth_bps, 1'000'000u);
}

TEST(topology, dot_output_names_every_node_and_edge) {
  auto s = with_layout(layout_kind::ring, 4);
  auto t = expand(s);
  auto dot = to_dot(s, t);
  EXPECT_NE(dot.find("graph \"t\""), std::string::npos);
  EXPECT_NE(dot.find("\"validator-0\" -- \"validator-3\""), std::string::npos) << dot;
  size_t edges = 0;
  for (size_t pos = dot.find(" -- "); pos != std::string::npos; pos = dot.find(" -- ", pos + 1))
    ++edges;
  EXPECT_EQ(edges, 4u);
}

TEST(topology, size_is_counted_without_expanding) {
  for (auto k : {layout_kind::star, layout_kind::chain, layout_kind::ring, layout_kind::mesh})
    for (uint32_t n : {1u, 2u, 3u, 10u, 57u}) {
      const auto s = with_layout(k, n);
      const auto size = size_of(s.topology);
      const auto t = expand(s);
      EXPECT_TRUE(size.links_exact);
      EXPECT_EQ(size.nodes, t.nodes.size()) << to_string(k) << " " << n;
      EXPECT_EQ(size.links, t.edges.size()) << to_string(k) << " " << n;
    }
  // Random: the seeded draw decides, but never fewer than n * degree / 2.
  for (uint32_t n : {2u, 5u, 9u, 100u, 1000u})
    for (uint32_t d : {1u, 3u, 8u}) {
      const auto s = with_layout(layout_kind::random, n, d, 3);
      const auto size = size_of(s.topology);
      EXPECT_LE(size.links, expand(s).edges.size()) << n << " " << d;
    }
  // Far beyond any limit, in no time and no memory: a mesh of 10^8 nodes.
  const auto huge = size_of(with_layout(layout_kind::mesh, 100'000'000).topology);
  EXPECT_EQ(huge.nodes, 100'000'000u);
  EXPECT_EQ(huge.links, 100'000'000ull * 99'999'999ull / 2);
}
