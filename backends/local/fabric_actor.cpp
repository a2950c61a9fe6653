// The fabric actor of a local deployment: network faults for the whole world. With link
// relays (the default for programs that name their peer port) every fault is a change of the
// relays (agent::fabric); without them, the adapters' own peer controls cut whole
// connections (litecoind: setban, addnode, disconnectnode). Every request first asks the
// deployment's capabilities, so a refusal names the same reason `troupe validate` gives.

#include <map>

#include "actors/node_protocol.hpp"
#include "backends/local/node_clocks.hpp"
#include "backends/local/node_namespaces.hpp"
#include "backends/local/proxy.hpp"

namespace troupe::backends::local {

namespace {

using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;
using unclog_atom = caf::atom_constant<caf::atom("unclog")>;

/// A heal's reconnect nudges: at once, and once more after the relays closed the
/// connections that lost bytes to a one-way cut (the programs notice that a moment later).
constexpr std::chrono::seconds reconnect_again{2};

struct fabric_state {
  world_ptr w;
  std::vector<adapters::adapter_ptr> adapters;
  std::map<std::pair<std::string, std::string>, agent::link_shape> shapes; ///< set by set_link
  std::map<uint64_t, std::vector<agent::link_change>> clogs;               ///< running out, by id
  uint64_t next_clog = 1;
  static inline const char* name = "troupe.local.fabric";
};

using fabric_actor = caf::stateful_actor<fabric_state>*;

adapters::adapter& adapter_of(fabric_actor self, size_t i) {
  auto& st = self->state;
  if (!st.adapters[i])
    st.adapters[i] = st.w->make_adapter(i);
  return *st.adapters[i];
}

std::optional<size_t> index_of(const world& w, const std::string& id) {
  for (size_t k = 0; k < w.nodes.size(); ++k)
    if (w.nodes[k].info.id == id)
      return k;
  return std::nullopt;
}

/// Node indices of `ids` (empty: every node); `unknown` gets an id the world does not have.
std::vector<size_t> indices(const world& w, const std::vector<std::string>& ids,
                            std::string& unknown) {
  std::vector<size_t> out;
  if (ids.empty()) {
    for (size_t k = 0; k < w.nodes.size(); ++k)
      out.push_back(k);
    return out;
  }
  for (const auto& id : ids) {
    if (auto k = index_of(w, id))
      out.push_back(*k);
    else
      unknown = id;
  }
  return out;
}

bool all_relayed(const world& w, const std::vector<size_t>& nodes) {
  for (auto i : nodes)
    if (!w.relayed(i))
      return false;
  return true;
}

// -- through the relays ---------------------------------------------------------

control_ack partition_relayed(fabric_actor self, const partition_cmd& cmd) {
  auto& w = *self->state.w;
  std::vector<agent::link_change> changes;
  // As in the simulator: symmetric cuts every pair of sides both ways; one-way cuts only
  // sides[0] -> each other side.
  for (size_t a = 0; a < cmd.sides.size(); ++a)
    for (size_t b = a + 1; b < cmd.sides.size(); ++b) {
      if (!cmd.symmetric && a != 0)
        continue;
      for (const auto& x : cmd.sides[a])
        for (const auto& y : cmd.sides[b]) {
          changes.push_back({agent::link_change::cut, x, y, {}});
          if (cmd.symmetric)
            changes.push_back({agent::link_change::cut, y, x, {}});
        }
    }
  w.fabric->apply(changes);
  return {true, ""};
}

void reconnect_all(fabric_actor self) {
  auto& w = *self->state.w;
  for (size_t i = 0; i < w.nodes.size(); ++i)
    if (w.relayed(i))
      w.reconnect(i, adapter_of(self, i));
}

// -- through the adapters' peer controls -----------------------------------------------

control_ack partition_by_adapters(fabric_actor self, const partition_cmd& cmd) {
  auto& w = *self->state.w;
  std::vector<int> side(w.nodes.size(), -1);
  size_t listed = 0;
  for (size_t s = 0; s < cmd.sides.size(); ++s)
    for (auto& id : cmd.sides[s]) {
      auto i = index_of(w, id);
      if (!i)
        return {false, "unknown node " + id + " in partition"};
      side[*i] = static_cast<int>(s);
      ++listed;
    }
  std::string errors;
  for (size_t i = 0; i < w.nodes.size(); ++i) {
    if (side[i] < 0 || !w.running(i))
      continue;
    std::vector<adapters::peer_endpoint> others;
    for (size_t j = 0; j < w.nodes.size(); ++j)
      if (side[j] >= 0 && side[j] != side[i])
        others.push_back({w.nodes[j].info.id, w.nodes[j].endpoint});
    // A node alone on its side, with every other node on some other side, is cut from all:
    // then the real setban applies.
    bool alone = cmd.sides[static_cast<size_t>(side[i])].size() == 1 && listed == w.nodes.size();
    auto ack = adapter_of(self, i).cut(others, alone);
    if (!ack.ok)
      errors += (errors.empty() ? "" : "; ") + ack.error;
  }
  return {errors.empty(), errors};
}

// -- the requests -----------------------------------------------------------------------

control_ack partition(fabric_actor self, const partition_cmd& cmd) {
  auto& w = *self->state.w;
  fault_request r;
  r.action = "partition";
  r.symmetric = cmd.symmetric;
  for (const auto& s : cmd.sides)
    r.nodes.insert(r.nodes.end(), s.begin(), s.end());
  if (auto no = w.refused(r))
    return *no;
  std::string unknown;
  auto nodes = indices(w, r.nodes, unknown);
  if (!unknown.empty())
    return {false, "partition names unknown node \"" + unknown + "\""};
  if (cmd.sides.size() < 2)
    return {false, "partition needs at least two sides"};
  return all_relayed(w, nodes) ? partition_relayed(self, cmd) : partition_by_adapters(self, cmd);
}

control_ack heal_all(fabric_actor self) {
  auto& w = *self->state.w;
  if (w.fabric) {
    w.fabric->heal_all();
    self->state.clogs.clear();
    reconnect_all(self);
    self->delayed_send(self, reconnect_again, reconnect_atom::value);
  }
  std::string errors;
  auto caps = w.caps();
  for (size_t i = 0; i < w.nodes.size(); ++i) {
    // Relayed nodes were healed above; nothing of a program that cannot be cut is to heal.
    if (w.relayed(i) || !w.running(i) || !caps.cuttable(*w.nodes[i].prog))
      continue;
    auto ack = adapter_of(self, i).join(w.topology_peers(i));
    if (!ack.ok)
      errors += (errors.empty() ? "" : "; ") + ack.error;
  }
  return {errors.empty(), errors};
}

control_ack set_link(fabric_actor self, const link_cmd& cmd) {
  auto& st = self->state;
  auto& w = *st.w;
  fault_request r;
  r.action = "set_link";
  r.nodes = cmd.from;
  r.nodes.insert(r.nodes.end(), cmd.to.begin(), cmd.to.end());
  r.link = cmd;
  if (auto no = w.refused(r))
    return *no;
  std::string unknown;
  auto from = indices(w, cmd.from, unknown);
  auto to = indices(w, cmd.to, unknown);
  if (!unknown.empty())
    return {false, "set_link names unknown node \"" + unknown + "\""};
  if (!w.fabric)
    return {false, "set_link needs the link relays, and this deployment has none"};
  std::vector<agent::link_change> changes;
  for (auto a : from)
    for (auto b : to) {
      if (a == b)
        continue;
      const auto& x = w.nodes[a].info.id;
      const auto& y = w.nodes[b].info.id;
      auto& sh = st.shapes[{x, y}];
      if (cmd.latency_ns >= 0)
        sh.latency_ns = cmd.latency_ns;
      if (cmd.jitter_ns >= 0)
        sh.jitter_ns = cmd.jitter_ns;
      if (cmd.bandwidth_bps >= 0)
        sh.bandwidth_bps = cmd.bandwidth_bps;
      changes.push_back({agent::link_change::shape, x, y, sh});
    }
  w.fabric->apply(changes);
  if (cmd.loss >= 0 && !w.netns.empty()) {
    try {
      set_loss(w, from, to, cmd.loss);
    } catch (const std::exception& e) {
      return {false, e.what()};
    }
  }
  return {true, ""};
}

control_ack clog(fabric_actor self, const clog_cmd& cmd) {
  auto& st = self->state;
  auto& w = *st.w;
  fault_request r;
  r.action = "clog";
  r.nodes = cmd.from;
  r.nodes.insert(r.nodes.end(), cmd.to.begin(), cmd.to.end());
  if (auto no = w.refused(r))
    return *no;
  if (cmd.duration_ns <= 0)
    return {false, "clog needs a duration above zero"};
  std::string unknown;
  auto from = indices(w, cmd.from, unknown);
  auto to = indices(w, cmd.to, unknown);
  if (!unknown.empty())
    return {false, "clog names unknown node \"" + unknown + "\""};
  if (!w.fabric)
    return {false, "clog needs the link relays, and this deployment has none"};
  // Both directions between the two sets, as the simulator's clog_link.
  std::vector<agent::link_change> on, off;
  for (auto a : from)
    for (auto b : to) {
      if (a == b)
        continue;
      for (auto [x, y] : {std::pair{a, b}, std::pair{b, a}}) {
        on.push_back({agent::link_change::clog, w.nodes[x].info.id, w.nodes[y].info.id, {}});
        off.push_back({agent::link_change::unclog, w.nodes[x].info.id, w.nodes[y].info.id, {}});
      }
    }
  w.fabric->apply(on);
  auto id = st.next_clog++;
  st.clogs[id] = std::move(off);
  self->delayed_send(self, std::chrono::nanoseconds(cmd.duration_ns), unclog_atom::value, id);
  return {true, ""};
}

/// A fault the agent could not apply (it is gone, or said no) is a refusal with its reason,
/// never an acknowledged fault.
template <class F> control_ack acked(F&& apply) {
  try {
    return apply();
  } catch (const std::exception& e) {
    return {false, e.what()};
  }
}

caf::behavior fabric(fabric_actor self, world_ptr w) {
  self->state.adapters.resize(w->nodes.size());
  self->state.shapes = w->link_shapes; // a set_link step changes what the scenario's link set
  self->state.w = std::move(w);
  return {
    // Statuses come from each node's proxy (in parallel); the fabric does not batch them.
    [=](get_status_atom) -> caf::result<std::vector<node_status>> {
      return caf::make_error(caf::sec::unexpected_message);
    },
    [=](partition_atom, const partition_cmd& cmd) -> control_ack {
      return acked([&] { return partition(self, cmd); });
    },
    [=](heal_atom) -> control_ack { return acked([&] { return heal_all(self); }); },
    [=](set_link_atom, const link_cmd& cmd) -> control_ack {
      return acked([&] { return set_link(self, cmd); });
    },
    [=](clog_atom, const clog_cmd& cmd) -> control_ack {
      return acked([&] { return clog(self, cmd); });
    },
    [=](skew_atom, const clock_skew_cmd& cmd) -> control_ack {
      return skew_node(*self->state.w, cmd);
    },
    [=](unclog_atom, uint64_t id) {
      auto& st = self->state;
      auto it = st.clogs.find(id);
      if (it == st.clogs.end())
        return; // healed already
      acked([&] {
        st.w->fabric->apply(it->second);
        return control_ack{true, ""};
      });
      st.clogs.erase(it);
    },
    [=](reconnect_atom) { reconnect_all(self); },
  };
}

} // namespace

caf::actor spawn_fabric(caf::actor_system& sys, world_ptr w) {
  return sys.spawn<caf::detached>(fabric, std::move(w));
}

} // namespace troupe::backends::local
