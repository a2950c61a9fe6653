#include "backends/local/node_namespaces.hpp"

#include "actors/errors.hpp"
#include "backends/agent/netns.hpp"
#include "backends/local/world.hpp"

namespace troupe::backends::local {

namespace fs = std::filesystem;

bool namespaced(const program& p) {
  return p.join_scope == "all" && !p.join_port.empty() && !agent::netns_refusal();
}

namespace {

uint16_t port_of(const live_node& n, const std::string& name) {
  return static_cast<uint16_t>(std::stoi(n.vars.at(name)));
}

/// Relays from node `i` to every other member of its program; returns its redirects.
std::vector<agent::node_netns::redirect> relays_of(world& w, agent::multi_fabric& f, size_t i) {
  auto& node = w.nodes[i];
  auto& ns = *w.netns[i];
  std::vector<agent::node_netns::redirect> out;
  for (size_t j = 0; j < w.nodes.size(); ++j) {
    if (j == i || w.nodes[j].prog != node.prog || !w.netns[j])
      continue;
    auto& peer = w.nodes[j];
    auto target = port_of(peer, node.prog->join_port);
    auto port = f.add_relay(node.host, node.info.id, peer.info.id, target, 0, ns.root_addr(),
                            w.netns[j]->inner_addr());
    out.push_back({target, ns.root_addr(), port});
    w.netns_relays[{i, j}] = port;
    node.peer_endpoints[j] = peer.endpoint; // the program's configuration stays as it is
  }
  return out;
}

} // namespace

void build_namespaces(world& w, agent::multi_fabric& f, const fs::path& run_dir) {
  w.netns.resize(w.nodes.size());
  std::string tag = agent::run_tag(run_dir);
  try {
    auto block = agent::choose_block(tag);
    std::vector<std::string> names;
    for (size_t i = 0; i < w.nodes.size(); ++i)
      if (namespaced(*w.nodes[i].prog))
        names.push_back(agent::netns_name(tag, i));
    if (!names.empty())
      w.netns_janitor = std::make_unique<agent::netns_janitor>(names);
    for (size_t i = 0; i < w.nodes.size(); ++i)
      if (namespaced(*w.nodes[i].prog))
        w.netns[i] = std::make_unique<agent::node_netns>(tag, block, i);
    for (size_t i = 0; i < w.nodes.size(); ++i) {
      if (!w.netns[i])
        continue;
      auto& node = w.nodes[i];
      auto redirects = relays_of(w, f, i);
      std::vector<uint16_t> own;
      for (auto& [name, base] : node.prog->ports) {
        own.push_back(port_of(node, name));
        if (name == node.prog->join_port)
          continue;
        if (!w.forwards)
          w.forwards = std::make_shared<agent::fabric>();
        // troupe's adapter, probes and scraper call 127.0.0.1:<port>, as without namespaces.
        w.forwards->add_relay("troupe", node.info.id, own.back(), own.back(),
                              agent::fabric::loopback, w.netns[i]->inner_addr());
      }
      w.netns[i]->install_rules(redirects, own, run_dir / "nodes" / (node.info.id + ".nft"));
    }
  } catch (const std::runtime_error& e) {
    throw user_error(std::string("cannot give the nodes their network namespaces: ") + e.what());
  }
  if (w.forwards)
    w.forwards->start();
}

void enter_namespace(const world& w, size_t i, process_options& po) {
  if (i >= w.netns.size() || !w.netns[i])
    return;
  auto prefix = w.netns[i]->exec_prefix();
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
    // a's bytes on the connections a dials: to relay a -> b, on a's veth.
    if (ab != w.netns_relays.end())
      rules[a].push_back({true, w.netns[a]->root_addr(), ab->second, loss});
    // a's bytes on the connections b dials: from relay b -> a, into b's namespace.
    if (ba != w.netns_relays.end())
      rules[b].push_back({false, w.netns[b]->root_addr(), ba->second, loss});
  }
  for (size_t i = 0; i < w.nodes.size(); ++i)
    if (i < w.netns.size() && w.netns[i])
      w.netns[i]->set_drops(rules[i], w.nodes[i].vars.at("run_dir") + "/nodes/" +
                                        w.nodes[i].info.id + ".drops.nft");
}

uint64_t dropped_packets(const world& w) {
  uint64_t sum = 0;
  for (auto& ns : w.netns)
    if (ns)
      sum += ns->dropped_packets();
  return sum;
}

void remove_namespaces(world& w) noexcept {
  if (w.forwards)
    w.forwards->stop();
  w.netns.clear();
  w.netns_janitor.reset();
}

} // namespace troupe::backends::local
