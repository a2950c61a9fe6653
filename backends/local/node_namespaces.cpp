#include "backends/local/node_namespaces.hpp"

#include <mutex>

#include "actors/errors.hpp"
#include "backends/agent/for_each_bounded.hpp"
#include "backends/agent/netns.hpp"
#include "backends/agent/remote_netns.hpp"
#include "backends/local/world.hpp"

namespace troupe::backends::local {

namespace fs = std::filesystem;

bool namespaced(const program& p, const host_limits& limits) {
  if (p.join_scope != "all" || p.join_port.empty() || limits.no_netns)
    return false;
  return !limits.netns_here || !agent::netns_refusal();
}

namespace {

uint16_t port_of(const live_node& n, const std::string& name) {
  return static_cast<uint16_t>(std::stoi(n.vars.at(name)));
}

/// The namespaced peers of node `i`: the other members of its program.
std::vector<size_t> members_beside(const world& w, size_t i) {
  std::vector<size_t> out;
  for (size_t j = 0; j < w.nodes.size(); ++j)
    if (j != i && w.nodes[j].prog == w.nodes[i].prog && w.netns[j])
      out.push_back(j);
  return out;
}

/// Relays from node `i` to every other member of its program; returns its redirects.
std::vector<agent::node_netns::redirect> relays_of(world& w, agent::multi_fabric& f, size_t i) {
  auto& node = w.nodes[i];
  const auto& ns = *w.netns[i];
  std::vector<agent::node_netns::redirect> out;
  for (auto j : members_beside(w, i)) {
    auto& peer = w.nodes[j];
    auto target = port_of(peer, node.prog->join_port);
    // The same host: the peer's own namespace. Another: its host, whose agent forwards there.
    const auto target_addr =
      peer.host == node.host ? w.netns[j]->inner_addr : w.hosts[peer.host].ipv4;
    auto port =
      f.add_relay(node.host, node.info.id, peer.info.id, target, 0, ns.root_addr, target_addr);
    out.push_back({target, ns.root_addr, port, w.hosts[peer.host].ipv4});
    w.netns_relays[{i, j}] = port;
    node.peer_endpoints[j] = peer.endpoint; // the program's configuration stays as it is
  }
  return out;
}

/// What reaches node `i` from its host's address at its ports: every port but the one its
/// peers dial (troupe's own calls), and that one too when a peer on another host dials it.
std::vector<agent::host_netns::forward> forwards_of(const world& w, size_t i) {
  const auto& node = w.nodes[i];
  bool dialed_from_afar = false;
  for (auto j : members_beside(w, i))
    dialed_from_afar = dialed_from_afar || w.nodes[j].host != node.host;
  std::vector<agent::host_netns::forward> out;
  for (auto& [name, base] : node.prog->ports)
    if (name != node.prog->join_port || dialed_from_afar)
      out.push_back({node.info.id, w.hosts[node.host].ipv4, port_of(node, name)});
  return out;
}

/// " on host NAME" for a remote host, "" for this machine (for messages).
std::string on_host(const world& w, size_t h) {
  return w.hosts[h].remote ? " on host " + w.hosts[h].name : std::string{};
}

} // namespace

void build_namespaces(world& w, agent::multi_fabric& f, const fs::path& run_dir) {
  w.netns.assign(w.nodes.size(), std::nullopt);
  w.netns_hosts.resize(w.hosts.size());
  // One tag for the run, and each node's index in the whole deployment: names, veths and
  // subnets never collide between the hosts' agents, even on one kernel.
  const std::string tag = agent::run_tag(run_dir);
  std::map<size_t, std::vector<size_t>> by_host;
  for (size_t i = 0; i < w.nodes.size(); ++i)
    if (namespaced(*w.nodes[i].prog, w.limits))
      by_host[w.nodes[i].host].push_back(i);
  std::string where;
  try {
    for (auto& [h, indices] : by_host) {
      where = on_host(w, h);
      auto& host = w.netns_hosts[h];
      host = std::make_shared<agent::remote_netns>(w.sup->agent(h));
      for (auto& m : host->make(tag, indices)) {
        if (m.index >= w.nodes.size() || w.nodes[m.index].host != h)
          throw std::runtime_error("the agent made a namespace for node " +
                                   std::to_string(m.index) + ", which it was not asked for");
        w.netns[m.index] = std::move(m);
      }
    }
    for (size_t i = 0; i < w.nodes.size(); ++i) {
      if (!w.netns[i])
        continue;
      auto& node = w.nodes[i];
      where = on_host(w, node.host);
      auto redirects = relays_of(w, f, i);
      std::vector<uint16_t> own;
      for (auto& [name, base] : node.prog->ports)
        own.push_back(port_of(node, name));
      const auto& host = w.hosts[node.host];
      w.netns_hosts[node.host]->install(i, redirects, own, host.ipv4, forwards_of(w, i),
                                        host.nodes_dir / (node.info.id + ".nft"));
    }
  } catch (const std::runtime_error& e) {
    throw user_error("cannot give the nodes their network namespaces" + where + ": " + e.what());
  }
}

void enter_namespace(const world& w, size_t i, process_options& po) {
  if (i >= w.netns.size() || !w.netns[i])
    return;
  const auto& prefix = w.netns[i]->exec_prefix;
  std::vector<std::string> args(prefix.begin() + 1, prefix.end());
  args.push_back(po.binary);
  args.insert(args.end(), po.args.begin(), po.args.end());
  po.binary = prefix.front();
  po.args = std::move(args);
}

void set_loss(world& w, const std::vector<size_t>& from, const std::vector<size_t>& to, double p) {
  for (auto a : from)
    for (auto b : to)
      if (a != b)
        w.loss[{a, b}] = p;
  // Every namespace's rules from the whole map: one nft transaction each.
  std::vector<std::vector<agent::node_netns::drop_rule>> rules(w.nodes.size());
  for (auto& [link, loss] : w.loss) {
    auto [a, b] = link;
    auto ab = w.netns_relays.find({a, b});
    auto ba = w.netns_relays.find({b, a});
    if (loss <= 0 || !w.netns[a] || !w.netns[b])
      continue;
    // a's bytes on the connections a dials: to relay a -> b, on a's veth (a's host).
    if (ab != w.netns_relays.end())
      rules[a].push_back({true, w.netns[a]->root_addr, ab->second, loss});
    // a's bytes on the connections b dials: from relay b -> a, into b's namespace (b's host).
    if (ba != w.netns_relays.end())
      rules[b].push_back({false, w.netns[b]->root_addr, ba->second, loss});
  }
  std::mutex failed_mutex;
  std::string failed;
  agent::for_each_bounded(w.nodes.size(), 32, [&](size_t i) {
    if (i >= w.netns.size() || !w.netns[i])
      return;
    const auto& node = w.nodes[i];
    try {
      w.netns_hosts[node.host]->set_drops(
        i, rules[i], w.hosts[node.host].nodes_dir / (node.info.id + ".drops.nft"));
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> guard{failed_mutex};
      if (failed.empty())
        failed = node.info.id + "'s packet loss" + on_host(w, node.host) + ": " + e.what();
    }
  });
  if (!failed.empty())
    throw std::runtime_error(failed);
}

uint64_t dropped_packets(const world& w) {
  uint64_t sum = 0;
  for (const auto& host : w.netns_hosts)
    if (host) {
      try {
        sum += host->dropped_packets();
      } catch (const std::exception&) {
        // That agent is gone, and its counters with it.
      }
    }
  return sum;
}

void remove_namespaces(world& w) noexcept {
  agent::for_each_bounded(w.netns_hosts.size(), 32, [&](size_t h) {
    if (w.netns_hosts[h])
      w.netns_hosts[h]->remove();
  });
  w.netns_hosts.clear();
  w.netns.clear();
}

} // namespace troupe::backends::local
