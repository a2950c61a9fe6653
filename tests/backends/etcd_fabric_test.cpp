// A real etcd cluster through the link fabric: each member in its own network namespace, its
// configuration unchanged, its peer connections redirected into the relays. A partition of
// the leader makes the majority elect another and commit while writes on the cut-off member
// fail, with 0 bytes crossing the cut; a one-way cut behaves differently from a two-way one;
// every namespace is gone after teardown.

#include <cstdio>
#include <memory>

#include <gtest/gtest.h>
#include <httplib.h>

#include "backends/agent/netns.hpp"
#include "backends/local/node_namespaces.hpp"
#include "tests/backends/live_helpers.hpp"

using namespace troupe;
using namespace troupe::backends;
using namespace troupe::backends::testing;
using nlohmann::json;

namespace {

struct member_view {
  std::string id;     ///< etcd's member id (a decimal string, as the gateway prints it)
  std::string leader; ///< the leader it knows ("0": none)
};

uint16_t client_port(live_run& run, size_t i) {
  return static_cast<uint16_t>(
    std::stoi(run.backend.shared_world()->nodes[i].vars.at("client_port")));
}

/// POST `path` with `body` to member `i`'s client port (through troupe's port forward).
httplib::Result post(live_run& run, size_t i, const std::string& path, const std::string& body,
                     std::chrono::seconds timeout = 2s) {
  httplib::Client c{"127.0.0.1", client_port(run, i)};
  c.set_connection_timeout(timeout);
  c.set_read_timeout(timeout);
  return c.Post(path.c_str(), body, "application/json");
}

std::optional<member_view> view(live_run& run, size_t i) {
  auto res = post(run, i, "/v3/maintenance/status", "{}");
  if (!res || res->status != 200)
    return std::nullopt;
  auto doc = json::parse(res->body, nullptr, false);
  if (doc.is_discarded())
    return std::nullopt;
  return member_view{doc["header"].value("member_id", ""), doc.value("leader", "0")};
}

/// The index of the member every member names as leader, once they agree.
std::optional<size_t> agreed_leader(live_run& run, size_t n) {
  std::vector<member_view> views;
  for (size_t i = 0; i < n; ++i) {
    auto v = view(run, i);
    if (!v)
      return std::nullopt;
    views.push_back(*v);
  }
  for (size_t i = 0; i < n; ++i)
    if (views[i].id == views[0].leader) {
      for (auto& v : views)
        if (v.leader != views[0].leader)
          return std::nullopt;
      return i;
    }
  return std::nullopt;
}

/// A put through member `i`: true when etcd committed it.
bool put(live_run& run, size_t i, const std::string& key) {
  // The value "dHJvdXBl" is base64 of "troupe"; keys are base64-encoded here, as etcd wants.
  static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string k;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : key) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      k += b64[(acc >> (bits - 6)) & 63];
      bits -= 6;
    }
  }
  if (bits > 0)
    k += b64[(acc << (6 - bits)) & 63];
  while (k.size() % 4)
    k += '=';
  auto res = post(run, i, "/v3/kv/put", "{\"key\": \"" + k + "\", \"value\": \"dHJvdXBl\"}", 3s);
  return res && res->status == 200 && res->body.find("\"revision\"") != std::string::npos;
}

double leader_changes(live_run& run, size_t i) {
  httplib::Client c{"127.0.0.1", client_port(run, i)};
  c.set_read_timeout(2s);
  auto res = c.Get("/metrics");
  if (!res)
    return -1;
  const std::string name = "etcd_server_leader_changes_seen_total ";
  auto at = res->body.find("\n" + name);
  return at == std::string::npos ? -1 : std::stod(res->body.substr(at + 1 + name.size()));
}

agent::link_stats link(live_run& run, const std::string& from, const std::string& to) {
  for (auto& s : run.backend.shared_world()->fabric->stats())
    if (s.from == from && s.to == to)
      return s;
  ADD_FAILURE() << "no relay between " << from << " and " << to;
  return {};
}

std::string id_of(size_t i) { return "member-" + std::to_string(i); }

/// Bytes relayed between member `a` and every other member, both ways.
uint64_t crossing(live_run& run, size_t a, size_t n) {
  uint64_t sum = 0;
  for (size_t j = 0; j < n; ++j)
    if (j != a)
      sum +=
        link(run, id_of(a), id_of(j)).bytes_relayed + link(run, id_of(j), id_of(a)).bytes_relayed;
  return sum;
}

std::string netns_list() {
  std::string out;
  if (FILE* p = ::popen("ip netns list 2>&1", "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof(buf), p))
      out += buf;
    ::pclose(p);
  }
  return out;
}

partition_cmd cut_off(size_t leader, size_t n, bool symmetric) {
  partition_cmd cmd;
  cmd.sides = {{id_of(leader)}, {}};
  for (size_t j = 0; j < n; ++j)
    if (j != leader)
      cmd.sides[1].push_back(id_of(j));
  cmd.symmetric = symmetric;
  return cmd;
}

size_t other_than(size_t leader) { return leader == 0 ? 1 : 0; }

scenario cluster() {
  return one_group("etcd", "member", 3, json::object(), {{"poll_interval", "200ms"}});
}

} // namespace

TEST(etcd_fabric, partition_of_the_leader_elects_another_and_only_the_majority_commits) {
  if (agent::netns_refusal())
    GTEST_SKIP() << *agent::netns_refusal();
  live_run run{cluster(), "etcd-fabric-partition"};
  run.deploy();
  auto tag = agent::run_tag(run.env.run_dir);
  EXPECT_NE(netns_list().find("troupe-" + tag + "-0"), std::string::npos) << netns_list();
  caf::scoped_actor self{run.sys};
  std::optional<size_t> leader;
  ASSERT_TRUE(eventually(20s, [&] { return (leader = agreed_leader(run, 3)).has_value(); }));
  // etcd's own peer traffic goes through the relays: its configuration names 127.0.0.1 peers,
  // which the namespace's rules send into them.
  EXPECT_TRUE(eventually(10s, [&] { return crossing(run, *leader, 3) > 0; }));
  ASSERT_TRUE(put(run, *leader, "before"));
  auto changes_before = leader_changes(run, other_than(*leader));

  auto ack =
    ask<control_ack>(self, run.dep.fabric, partition_atom::value, cut_off(*leader, 3, true));
  ASSERT_TRUE(ack.ok) << ack.error;
  auto crossed_at_ack = crossing(run, *leader, 3);
  // The majority elects a new leader among themselves and counts the change.
  auto majority = other_than(*leader);
  EXPECT_TRUE(eventually(30s, [&] {
    auto v = view(run, majority);
    return v && v->leader != "0" && v->leader != view(run, *leader).value_or(member_view{}).id &&
           leader_changes(run, majority) > changes_before;
  }));
  EXPECT_TRUE(put(run, majority, "majority")) << "the majority commits";
  EXPECT_FALSE(put(run, *leader, "minority")) << "the cut-off member cannot commit";
  EXPECT_EQ(crossing(run, *leader, 3), crossed_at_ack) << "0 bytes cross a two-way cut";
  EXPECT_GT(link(run, id_of(majority), id_of(*leader)).connections_refused +
              link(run, id_of(*leader), id_of(majority)).connections_refused,
            0u)
    << "etcd redials, and the relays close what tries to cross";

  // The heal lets the old leader rejoin and catch up.
  ASSERT_TRUE(ask<control_ack>(self, run.dep.fabric, heal_atom::value).ok);
  EXPECT_TRUE(eventually(30s, [&] { return put(run, *leader, "after"); }));
  EXPECT_GT(crossing(run, *leader, 3), crossed_at_ack);

  run.backend.teardown();
  EXPECT_EQ(netns_list().find("troupe-" + tag), std::string::npos) << netns_list();
}

TEST(etcd_fabric, a_one_way_cut_of_the_leader_is_not_a_two_way_cut) {
  if (agent::netns_refusal())
    GTEST_SKIP() << *agent::netns_refusal();
  live_run run{cluster(), "etcd-fabric-one-way"};
  run.deploy();
  auto tag = agent::run_tag(run.env.run_dir);
  caf::scoped_actor self{run.sys};
  std::optional<size_t> leader;
  ASSERT_TRUE(eventually(20s, [&] { return (leader = agreed_leader(run, 3)).has_value(); }));
  auto old_id = view(run, *leader)->id;
  auto majority = other_than(*leader);
  auto cut_before = link(run, id_of(*leader), id_of(majority)).connections_cut +
                    link(run, id_of(majority), id_of(*leader)).connections_cut;
  // Only what the leader sends is lost: the others elect a new leader, whose messages still
  // reach the old one, so it follows the new leader (under a two-way cut it would know none).
  ASSERT_TRUE(
    ask<control_ack>(self, run.dep.fabric, partition_atom::value, cut_off(*leader, 3, false)).ok);
  auto to_old = link(run, id_of(majority), id_of(*leader)).bytes_relayed;
  std::string new_leader;
  EXPECT_TRUE(eventually(30s,
                         [&] {
                           auto m = view(run, majority);
                           auto o = view(run, *leader);
                           if (!m || !o || m->leader == "0" || m->leader == old_id)
                             return false;
                           new_leader = m->leader;
                           return o->leader == new_leader;
                         }))
    << "the old leader follows the one the majority elected";
  EXPECT_TRUE(put(run, majority, "majority"));
  EXPECT_FALSE(put(run, *leader, "minority")) << "its own proposals never reach the leader";
  auto l_out = link(run, id_of(*leader), id_of(majority));
  EXPECT_GT(l_out.bytes_dropped, 0u) << "what the old leader sends is dropped";
  EXPECT_GT(link(run, id_of(majority), id_of(*leader)).bytes_relayed, to_old)
    << "what it receives still flows";
  EXPECT_EQ(l_out.connections_cut + link(run, id_of(majority), id_of(*leader)).connections_cut,
            cut_before)
    << "a one-way cut closes no connection";
  ASSERT_TRUE(ask<control_ack>(self, run.dep.fabric, heal_atom::value).ok);
  EXPECT_TRUE(eventually(30s, [&] { return put(run, *leader, "after"); }));

  run.backend.teardown();
  EXPECT_EQ(netns_list().find("troupe-" + tag), std::string::npos) << netns_list();
}

TEST(etcd_fabric, packet_loss_drops_packets_in_the_namespaces) {
  if (agent::netns_refusal())
    GTEST_SKIP() << *agent::netns_refusal();
  live_run run{cluster(), "etcd-fabric-loss"};
  run.deploy();
  caf::scoped_actor self{run.sys};
  auto& w = *run.backend.shared_world();
  std::optional<size_t> leader;
  ASSERT_TRUE(eventually(20s, [&] { return (leader = agreed_leader(run, 3)).has_value(); }));
  auto old_id = view(run, *leader)->id;
  auto majority = other_than(*leader);
  // A lossy link still carries etcd's traffic: TCP retransmits what was dropped.
  link_cmd lossy;
  lossy.from = {id_of(*leader)};
  lossy.loss = 0.3;
  auto ack = ask<control_ack>(self, run.dep.fabric, set_link_atom::value, lossy);
  ASSERT_TRUE(ack.ok) << ack.error;
  EXPECT_TRUE(eventually(20s, [&] { return local::dropped_packets(w) > 0; }))
    << "the drop rules drop packets";
  EXPECT_TRUE(eventually(20s, [&] { return put(run, majority, "lossy"); }));
  // Every packet the leader sends lost: as a one-way cut, the others elect a new leader.
  lossy.loss = 1.0;
  ack = ask<control_ack>(self, run.dep.fabric, set_link_atom::value, lossy);
  ASSERT_TRUE(ack.ok) << ack.error;
  EXPECT_TRUE(eventually(30s, [&] {
    auto m = view(run, majority);
    return m && m->leader != "0" && m->leader != old_id;
  }));
  lossy.loss = 0;
  ack = ask<control_ack>(self, run.dep.fabric, set_link_atom::value, lossy);
  ASSERT_TRUE(ack.ok) << ack.error;
  EXPECT_TRUE(eventually(30s, [&] { return put(run, *leader, "after"); }));
}

TEST(etcd_fabric, a_written_topology_link_shapes_the_relays_and_drops_in_the_namespaces) {
  if (agent::netns_refusal())
    GTEST_SKIP() << *agent::netns_refusal();
  auto s = cluster();
  s.topology.link.latency = 20ms;
  s.topology.link.jitter = 0ns;
  s.topology.link.loss = 0.05;
  s.topology.link.given = true;
  live_run run{s, "etcd-fabric-written-link"};
  run.deploy();
  auto& w = *run.backend.shared_world();
  EXPECT_EQ(link(run, id_of(0), id_of(1)).shape.latency_ns, 20'000'000);
  EXPECT_EQ(link(run, id_of(2), id_of(0)).shape.latency_ns, 20'000'000);
  ASSERT_TRUE(eventually(30s, [&] { return agreed_leader(run, 3).has_value(); }))
    << "20 ms and 5 % loss still elect a leader";
  EXPECT_TRUE(eventually(30s, [&] { return put(run, 0, "written-link"); }));
  EXPECT_TRUE(eventually(30s, [&] { return local::dropped_packets(w) > 0; }))
    << "the written loss is in the namespaces' drop rules";
}
