#include "backends/local/world.hpp"

#include <thread>

#include "actors/units.hpp"

namespace troupe::backends::local {

nlohmann::json counters::to_json() const {
  return {{"slots", slots.load()},
          {"leaders", leaders.load()},
          {"blocks_produced", blocks_produced.load()},
          {"produce_errors", produce_errors.load()},
          {"txs_submitted", txs_submitted.load()},
          {"txs_accepted", txs_accepted.load()},
          {"rpc_errors", rpc_errors.load()},
          {"control_actions", control_actions.load()},
          {"proxy_adapters", proxy_adapters.load()}};
}

// -- world ----------------------------------------------------------------------

adapters::adapter_ptr world::make_adapter(size_t i) const {
  auto& n = nodes[i];
  nlohmann::json settings;
  {
    std::lock_guard<std::mutex> guard{addresses_mutex};
    settings = n.adapter_settings;
  }
  return adapters::make_adapter(settings, n.info.id, rpc_timeout,
                                "program " + n.prog->name + ": adapter");
}

std::string world::host_address(size_t h) const {
  std::lock_guard<std::mutex> guard{addresses_mutex};
  return hosts.at(h).address;
}

bool world::running(size_t i) const { return sup->state(nodes[i].slot) == process_state::running; }

bool world::probe(size_t i, adapters::adapter* a, std::string* last_error) const {
  auto& n = nodes[i];
  auto& r = n.prog->ready;
  if (r.kind == "tcp" || r.kind == "http") {
    // On the node's own host: its agent probes the address the node listens on.
    try {
      auto res = agent_of(i)->call("probe", {{"kind", r.kind},
                                             {"address", host_address(n.host)},
                                             {"port", n.probe_port},
                                             {"path", r.path},
                                             {"expect", r.expect}});
      if (last_error)
        *last_error = res.value("error", std::string{});
      return res.value("ready", false);
    } catch (const std::exception& e) {
      if (last_error)
        *last_error = e.what();
      return false;
    }
  }
  try {
    a->status();
    return true;
  } catch (const adapters::rpc_error& e) {
    if (last_error)
      *last_error = e.what();
    return false;
  }
}

std::chrono::milliseconds world::ready_budget(size_t i) const {
  return ready_timeout.count() > 0 ? ready_timeout : nodes[i].prog->ready.timeout;
}

std::string world::last_lines(size_t i, size_t n) const {
  auto tail = sup->log_tail(nodes[i].slot, n);
  if (tail.empty())
    return "(the log is empty)";
  std::string out;
  size_t start = 0;
  while (start < tail.size()) {
    auto end = tail.find('\n', start);
    if (end == std::string::npos)
      end = tail.size();
    out += "\n    " + tail.substr(start, end - start);
    start = end + 1;
  }
  return out;
}

std::string world::wait_ready(size_t i, const std::function<bool()>& give_up) const {
  auto& n = nodes[i];
  auto budget = ready_budget(i);
  auto deadline = std::chrono::steady_clock::now() + budget;
  auto a = make_adapter(i);
  std::string last_error;
  for (;;) {
    auto st = sup->state(n.slot);
    if (st == process_state::exited || st == process_state::idle) {
      sup->wait_log_drained(n.slot, std::chrono::milliseconds(1000));
      return "node " + n.info.id + " (" + n.prog->name + ") exited while starting (" +
             sup->exit_description(n.slot) + "); see " + sup->options(n.slot).log_path.string() +
             ", last lines:" + last_lines(i);
    }
    if (probe(i, a.get(), &last_error))
      return {};
    if (give_up && give_up())
      return "gave up waiting for node " + n.info.id;
    if (std::chrono::steady_clock::now() >= deadline) {
      auto what = n.prog->ready.kind == "adapter"
                    ? "a " + n.adapter_settings.value("kind", std::string{}) + " status call"
                    : n.prog->ready.kind + " on port " + std::to_string(n.probe_port);
      if (!last_error.empty())
        what += "; last error: " + last_error;
      return "node " + n.info.id + " (" + n.prog->name + ") was not ready after " +
             format_duration(budget) + " (probe: " + what +
             "); raise the local backend's ready_timeout or see " +
             sup->options(n.slot).log_path.string() + ", last lines:" + last_lines(i);
    }
    std::this_thread::sleep_for(n.prog->ready.interval);
  }
}

capabilities world::caps() const {
  std::vector<capabilities::node> out;
  for (const auto& n : nodes)
    out.push_back({n.info.id, n.prog.get()});
  return capabilities{std::move(out), fabric != nullptr, limits};
}

std::optional<control_ack> world::refused(const fault_request& r) const {
  if (auto why = caps().refusal(r))
    return control_ack{false, *why};
  return std::nullopt;
}

bool world::relayed(size_t i) const { return fabric && !nodes[i].peer_endpoints.empty(); }

std::vector<size_t> world::dialled(size_t i) const {
  // A program that joins every member dials every member, whatever the layout says.
  if (nodes[i].prog->join_scope != "all")
    return {topo.peers[i].begin(), topo.peers[i].end()};
  std::vector<size_t> peers;
  for (size_t j = 0; j < nodes.size(); ++j)
    if (j != i && nodes[j].prog == nodes[i].prog)
      peers.push_back(j);
  return peers;
}

std::vector<agent::link_change> world::links_of(size_t i, agent::link_change::kind_t kind) const {
  std::vector<agent::link_change> out;
  for (auto j : dialled(i)) {
    out.push_back({kind, nodes[i].info.id, nodes[j].info.id, {}});
    out.push_back({kind, nodes[j].info.id, nodes[i].info.id, {}});
  }
  return out;
}

void world::reconnect(size_t i, adapters::adapter& a) const {
  if (!running(i))
    return;
  // Its peers' bans and added-node lists are untouched by relay cuts: join only dials.
  (void) a.join(topology_peers(i));
}

std::vector<adapters::peer_endpoint> world::topology_peers(size_t i) const {
  std::lock_guard<std::mutex> guard{addresses_mutex};
  std::vector<adapters::peer_endpoint> out;
  for (auto p : topo.peers[i]) {
    auto it = nodes[i].peer_endpoints.find(p);
    out.push_back(
      {nodes[p].info.id, it == nodes[i].peer_endpoints.end() ? nodes[p].endpoint : it->second});
  }
  return out;
}

} // namespace troupe::backends::local
