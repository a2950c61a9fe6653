#include "backends/local/proxy.hpp"

#include <map>
#include <optional>

#include "actors/errors.hpp"
#include "actors/log_scan.hpp"
#include "actors/node_command.hpp"
#include "actors/node_protocol.hpp"
#include "actors/random.hpp"
#include "actors/sync_endpoint.hpp"
#include "actors/url.hpp"
#include "backends/adapters/reported_chain.hpp"
#include "backends/agent/log_counter.hpp"
#include "backends/agent/protocol.hpp"
#include "backends/local/capabilities.hpp"

namespace troupe::backends::local {

namespace {

struct proxy_state {
  world_ptr w;
  size_t index = 0;
  adapters::adapter_ptr a;
  std::vector<std::pair<caf::actor, block_filter>> subscribers; ///< with the kinds each wants
  /// What the run was told of the node's chain (blocks with their troupe tx ids, what is
  /// final); poll "orchestrator" follows the node through it, poll "agent" feeds it summaries.
  std::optional<adapters::reported_chain> chain;
  node_status last;
  std::string last_final_tip; ///< poll "agent": the summary's final_tip
  static inline const char* name = "troupe.local.proxy";
};

using proxy_actor = caf::stateful_actor<proxy_state>*;

int64_t run_time_ns(proxy_actor self) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(self->clock().now() -
                                                              self->state.w->origin)
    .count();
}

/// The proxy's own adapter to its node, made on first use (counted: with poll "agent", a
/// proxy that only reports status never makes one).
adapters::adapter& adapter_of(proxy_actor self) {
  auto& st = self->state;
  if (!st.a) {
    st.a = st.w->make_adapter(st.index);
    st.w->counters.proxy_adapters++;
  }
  return *st.a;
}

void emit(proxy_actor self, std::vector<block_event> evs) {
  for (auto& ev : evs)
    for (auto& [s, kinds] : self->state.subscribers)
      if (kinds & block_filter_of(ev.kind))
        self->send(s, ev);
}

/// Poll "agent": takes the summaries the agent sent since the last look, in order.
void take_summaries(proxy_actor self) {
  auto& st = self->state;
  auto& w = *st.w;
  auto& chain = *st.chain;
  for (auto& s : w.summaries->take(w.nodes[st.index].slot)) {
    if (!s.value("up", false)) {
      st.last.up = false;
      continue;
    }
    node_status now;
    now.id = w.nodes[st.index].info.id;
    now.up = true;
    now.height = s.value("height", uint64_t{0});
    now.tip = s.value("tip", std::string{});
    now.peers = s.value("peers", uint32_t{0});
    now.mempool = s.value("mempool", uint32_t{0});
    st.last = now;
    st.last_final_tip = s.value("final_tip", std::string{});
    if (!chain.started())
      chain.start(now);
    else if (s.contains("blocks"))
      emit(self, chain.apply_summary(s, run_time_ns(self)));
    else
      emit(self, chain.follow_heights(now, run_time_ns(self)));
  }
  emit(self, chain.finalize(run_time_ns(self)));
}

void poll(proxy_actor self) {
  auto& st = self->state;
  auto& w = *st.w;
  if (w.agent_polls) {
    take_summaries(self);
    return;
  }
  if (!w.running(st.index))
    return;
  adapter_of(self);
  try {
    auto now = st.a->status();
    st.last = now;
    emit(self, st.chain->look(*st.a, now, run_time_ns(self)));
  } catch (const adapters::rpc_error&) {
    // The node may be restarting or overloaded: try again at the next poll.
    w.counters.rpc_errors++;
  }
}

/// Poll "agent": the status as the latest summary says, without a call to the node.
node_status summarised_status(proxy_actor self) {
  take_summaries(self);
  auto& st = self->state;
  auto& w = *st.w;
  auto& node = w.nodes[st.index];
  node_status out = st.last;
  out.id = node.info.id;
  out.up = st.last.up && w.running(st.index);
  auto depth = node.finality_depth;
  out.final_height = out.height >= depth ? out.height - depth : 0;
  const auto* h = st.chain->hash_at(out.final_height);
  out.final_tip = h ? *h : st.last_final_tip;
  return out;
}

node_status current_status(proxy_actor self) {
  auto& st = self->state;
  auto& w = *st.w;
  if (w.agent_polls)
    return summarised_status(self);
  auto& node = w.nodes[st.index];
  node_status out = st.last;
  out.id = node.info.id;
  out.up = false;
  if (w.running(st.index)) {
    adapter_of(self);
    try {
      out = st.a->status();
      out.id = node.info.id;
      out.up = true;
      st.last = out;
    } catch (const adapters::rpc_error&) {
      w.counters.rpc_errors++;
    }
  }
  auto depth = node.finality_depth;
  out.final_height = out.height >= depth ? out.height - depth : 0;
  if (const auto* h = st.chain->hash_at(out.final_height)) {
    out.final_tip = *h;
  } else if (out.up && st.a->has_blocks()) {
    try {
      out.final_tip = st.a->block_at(out.final_height).hash;
    } catch (const adapters::rpc_error&) {
      w.counters.rpc_errors++;
    }
  } else if (depth == 0) {
    out.final_tip = out.tip;
  }
  return out;
}

control_ack start_node(proxy_actor self) {
  auto& st = self->state;
  auto& w = *st.w;
  auto& node = w.nodes[st.index];
  try {
    w.sup->start(node.slot);
  } catch (const std::exception& e) {
    return {false, e.what()};
  }
  // A fresh connection (made when next needed): the old keep-alive socket died with the old
  // process.
  st.a.reset();
  // The readiness wait is process supervision on a real process (wall time by nature, and
  // bounded by the probe's timeout); it blocks this detached proxy only, never the runner.
  auto err = w.wait_ready(st.index);
  if (!err.empty())
    return {false, err};
  return {true, ""};
}

/// The run's sync service as a command on `host` reaches it: 127.0.0.1 there is not this
/// machine, so the host forwards a port of its own back here (ssh: its connection's remote
/// forward; a container or a pod: its agent's reverse tunnels).
std::string sync_url_on_host(const world& w, size_t host, const std::string& url) {
  const auto u = parse_http_url(url, sync_url_env);
  return "http://" + w.reach_here(host, static_cast<uint16_t>(u.port)) + u.path;
}

/// A node-side command through the node's agent, with the node's placeholders; blocks this
/// detached proxy until the command ends (bounded by its timeout).
command_result run_on_host(proxy_actor self, const command_request& req) {
  auto& st = self->state;
  auto& w = *st.w;
  const auto& node = w.nodes[st.index];
  command_result out;
  try {
    auto vars = node.vars;
    vars.emplace("id", node.info.id);
    out.command = render(req.command, vars, "commands: the command for " + node.info.id);
    nlohmann::json env = nlohmann::json::object();
    for (const auto& [k, v] : req.env)
      env[k] = v;
    env["TROUPE_NODE_ID"] = node.info.id;
    if (env.contains(sync_url_env) && w.hosts[node.host].remote)
      env[sync_url_env] = sync_url_on_host(w, node.host, env[sync_url_env].get<std::string>());
    auto r = w.agent_of(st.index)->call(
      "run_command",
      {{"command", out.command},
       {"timeout_ms", req.timeout_ms},
       {"tail_lines", req.tail_lines},
       {"cwd", node.vars.count("data_dir") ? node.vars.at("data_dir") : ""},
       {"env", env}},
      std::chrono::milliseconds(req.timeout_ms + 30'000));
    out.ran = true;
    out.exit_code = r.value("exit_code", -1);
    out.timed_out = r.value("timed_out", false);
    out.status = r.value("status", std::string{});
    out.tail = r.value("tail", std::string{});
    out.seconds = r.value("seconds", 0.0);
  } catch (const std::exception& e) {
    out.ran = false;
    out.status = e.what();
  }
  return out;
}

/// Asks the node's agent to count `req` in the node's log (from its oldest kept line on, and
/// from then on as the node writes) and answers with the count up to now. Blocks this
/// detached proxy while the agent reads (bounded by the call's timeout).
log_count_report count_log(proxy_actor self, const log_count_request& req) {
  auto& st = self->state;
  auto& w = *st.w;
  const auto& node = w.nodes[st.index];
  log_count_report out;
  try {
    nlohmann::json pattern{{"pattern", req.pattern}, {"ignore_case", req.ignore_case}};
    // The agent of the node's host, which knows the node by its own slot.
    auto r = w.agent_of(st.index)->call("log_counts",
                                        {{"slot", w.sup->host_slot(node.slot)},
                                         {"interval_ms", w.poll_interval.count()},
                                         {"patterns", nlohmann::json::array({pattern})}},
                                        std::chrono::seconds(25));
    out.scan = agent::log_scan_from_json(agent::field<nlohmann::json>(r, "patterns").at(0));
    out.counted = true;
    out.counted_by = "agent";
  } catch (const std::exception& e) {
    out.why = e.what();
  }
  return out;
}

/// A kill the hosts made themselves (a pod deleted): done once the node's agent is gone with
/// it and the node is seen down (bounded: a pod's deletion takes its agent within seconds).
control_ack crashed_by_hosts(const world& w, const live_node& node, const std::string& error) {
  if (!error.empty())
    return {false, error};
  if (!w.sup->wait_exit(node.slot, std::chrono::seconds(60)))
    return {false, node.info.id + "'s host was crashed, but its node was still seen running 60 s "
                                  "later"};
  return {true, ""};
}

control_ack control(proxy_actor self, control_action action) {
  auto& st = self->state;
  auto& w = *st.w;
  auto& node = w.nodes[st.index];
  w.counters.control_actions++;
  auto grace = node.prog->stop_grace;
  auto down = [&] {
    auto s = w.sup->state(node.slot);
    return s == process_state::exited || s == process_state::idle;
  };
  // Why the node's host cannot start it (a deleted pod), if it cannot: "" once the host
  // that replaced it (the pod made again) is adopted.
  auto lost = [&]() -> std::optional<std::string> {
    auto why = w.host_lost ? w.host_lost(node.host) : std::nullopt;
    if (!why || !w.adopt_host)
      return why;
    auto err = w.adopt_host(node.host);
    return err.empty() ? std::nullopt : std::optional<std::string>{err};
  };
  // The node's RPC server waits for open connections before it exits: close ours first.
  if (action == control_action::stop || action == control_action::restart ||
      action == control_action::kill)
    st.a.reset();
  switch (action) {
    case control_action::stop:
      if (down())
        return {true, ""};
      return w.sup->stop(node.slot, grace) ? control_ack{true, ""}
                                           : control_ack{false, node.info.id + " did not stop"};
    case control_action::kill:
      if (down())
        return {true, ""};
      if (auto crashed = w.crash_host ? w.crash_host(node.host) : std::nullopt)
        return crashed_by_hosts(w, node, *crashed);
      return w.sup->kill(node.slot) ? control_ack{true, ""}
                                    : control_ack{false, node.info.id + " did not die"};
    case control_action::start:
      if (!down())
        return {false, node.info.id + " is already running"};
      if (auto why = lost())
        return {false, *why};
      return start_node(self);
    case control_action::restart:
      if (auto why = lost())
        return {false, *why};
      if (!down() && !w.sup->stop(node.slot, grace))
        return {false, node.info.id + " did not stop"};
      return start_node(self);
    case control_action::pause:
      return w.sup->pause(node.slot) ? control_ack{true, ""}
                                     : control_ack{false, node.info.id + " is not running"};
    case control_action::resume:
      return w.sup->resume(node.slot) ? control_ack{true, ""}
                                      : control_ack{false, node.info.id + " is not running"};
    case control_action::isolate:
    case control_action::heal: {
      fault_request r;
      r.action = to_string(action);
      r.nodes = {node.info.id};
      if (auto no = w.refused(r))
        return *no;
      // Nothing of this program can be cut, so nothing is to heal.
      if (action == control_action::heal && !w.caps().cuttable(*node.prog))
        return {true, ""};
      if (w.relayed(st.index)) {
        // Through the relays: every link of this node, both ways (heal also lifts the
        // partitions it is part of, as in the simulator).
        w.fabric->apply(w.links_of(st.index, action == control_action::heal
                                               ? agent::link_change::heal
                                               : agent::link_change::cut));
        if (action == control_action::heal)
          w.reconnect(st.index, adapter_of(self));
        return {true, ""};
      }
      if (!w.running(st.index))
        return {false, node.info.id + " is not running"};
      if (action == control_action::heal)
        return adapter_of(self).join(w.topology_peers(st.index));
      std::vector<adapters::peer_endpoint> others;
      for (size_t j = 0; j < w.nodes.size(); ++j)
        if (j != st.index)
          others.push_back({w.nodes[j].info.id, w.nodes[j].endpoint});
      return adapter_of(self).cut(others, true);
    }
  }
  return {false, "unknown control action"};
}

caf::behavior proxy(proxy_actor self, world_ptr w, size_t index) {
  self->state.w = std::move(w);
  self->state.index = index;
  const auto& node = self->state.w->nodes[index];
  self->state.last.id = node.info.id;
  self->state.chain.emplace(node.info.id, node.finality_depth, self->state.w->txs);
  poll(self);
  self->delayed_send(self, self->state.w->poll_interval, poll_atom::value);
  return {
    [=](poll_atom) {
      poll(self);
      self->delayed_send(self, self->state.w->poll_interval, poll_atom::value);
    },
    [=](get_status_atom) -> node_status { return current_status(self); },
    [=](log_count_atom, const log_count_request& req) -> log_count_report {
      return count_log(self, req);
    },
    [=](submit_tx_atom, const transaction& tx) -> tx_ack {
      auto& st = self->state;
      auto& w = *st.w;
      w.counters.txs_submitted++;
      if (!w.running(st.index))
        return {false, w.nodes[st.index].info.id + " is not running"};
      // Pay a wallet chosen by the transaction's recipient, so money moves between nodes.
      std::string to;
      if (!w.nodes.empty()) {
        auto k = stable_hash(tx.to) % w.nodes.size();
        to = w.nodes[k].address;
      }
      auto r = adapter_of(self).submit(tx, to);
      if (!r.accepted)
        return {false, r.reason};
      w.counters.txs_accepted++;
      if (!r.real_id.empty())
        w.txs.add(r.real_id, tx.id);
      if (r.height)
        w.txs.landed(*r.height, tx.id);
      return {true, ""};
    },
    [=](subscribe_atom, const caf::actor& subscriber) -> bool {
      self->state.subscribers.emplace_back(subscriber, blocks_all);
      return true;
    },
    [=](subscribe_atom, const caf::actor& subscriber, block_filter kinds) -> bool {
      self->state.subscribers.emplace_back(subscriber, kinds);
      return true;
    },
    [=](byzantine_atom, const byzantine_cmd&) -> control_ack {
      return {false, capabilities::byzantine_refusal()};
    },
    [=](run_command_atom, const command_request& req) -> command_result {
      return run_on_host(self, req);
    },
    [=](control_atom, control_action action) -> control_ack {
      // The agent gone, or a fault it could not apply: a refusal with the reason.
      try {
        return control(self, action);
      } catch (const std::exception& e) {
        return {false, e.what()};
      }
    },
  };
}

} // namespace

caf::actor spawn_proxy(caf::actor_system& sys, world_ptr w, size_t index) {
  return sys.spawn<caf::detached>(proxy, std::move(w), index);
}

// -- block driver -----------------------------------------------------------------

namespace {

struct driver_state {
  world_ptr w;
  std::chrono::milliseconds slot{1000};
  std::vector<size_t> producers;
  std::vector<double> coeff;
  std::vector<uint64_t> lottery_key;
  std::vector<adapters::adapter_ptr> adapters;
  uint64_t next_slot = 1;
  static inline const char* name = "troupe.local.blocks";
};

using driver_actor = caf::stateful_actor<driver_state>*;

/// SplitMix64's finaliser, as sim/models/chain.cpp uses it.
constexpr uint64_t mix64(uint64_t x) noexcept {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// The chain model's lottery (sim/models/chain.cpp, `wins`): the same leaders win the same
/// slots live as in the simulator for the same seed.
bool wins_slot(uint64_t key, uint64_t slot, double coeff) noexcept {
  const uint64_t draw = mix64(key ^ mix64(slot + 0x51ED));
  return static_cast<double>(draw >> 11) * 0x1.0p-53 < coeff;
}

void run_slot(driver_actor self, uint64_t slot) {
  auto& st = self->state;
  auto& w = *st.w;
  w.counters.slots++;
  for (size_t k = 0; k < st.producers.size(); ++k) {
    // A pure function of (key, slot): a node's outcome never depends on another node's
    // faults or on how late this slot runs.
    if (!wins_slot(st.lottery_key[k], slot, st.coeff[k]))
      continue;
    w.counters.leaders++;
    auto i = st.producers[k];
    if (!w.running(i))
      continue;
    if (!st.adapters[k])
      st.adapters[k] = w.make_adapter(i);
    try {
      st.adapters[k]->produce_block(w.nodes[i].reward_address);
      w.counters.blocks_produced++;
    } catch (const adapters::rpc_error&) {
      w.counters.produce_errors++;
      st.adapters[k].reset(); // reconnect next time (the node may have restarted)
    }
  }
}

void schedule(driver_actor self) {
  auto& st = self->state;
  // Slots are aligned to the run origin, so slow RPC does not make the block rate drift.
  auto due = st.w->origin + st.slot * static_cast<int64_t>(st.next_slot);
  auto now = self->clock().now();
  auto wait = due > now ? due - now : caf::actor_clock::duration_type::zero();
  self->delayed_send(self, std::chrono::duration_cast<std::chrono::microseconds>(wait),
                     slot_atom::value);
}

caf::behavior block_driver(driver_actor self, world_ptr w, std::chrono::milliseconds slot,
                           std::vector<double> coeff) {
  auto& st = self->state;
  for (size_t i = 0; i < w->nodes.size(); ++i)
    if (w->nodes[i].producer) {
      st.producers.push_back(i);
      st.coeff.push_back(coeff[i]);
      // The chain model's key: the first draw of the node's stream (seed, node id).
      st.lottery_key.push_back(troupe::rng::stream(w->seed, w->nodes[i].info.id)());
    }
  st.adapters.resize(st.producers.size());
  st.slot = slot;
  st.w = std::move(w);
  schedule(self);
  return {
    [=](slot_atom) {
      auto& s = self->state;
      auto now = self->clock().now();
      // Catch up at most a few missed slots (a stalled machine must not burst blocks).
      auto elapsed = now - s.w->origin;
      auto current = static_cast<uint64_t>(elapsed / s.slot);
      if (current > s.next_slot + 3)
        s.next_slot = current - 3;
      run_slot(self, s.next_slot);
      ++s.next_slot;
      schedule(self);
    },
  };
}

} // namespace

caf::actor spawn_block_driver(caf::actor_system& sys, world_ptr w, std::chrono::milliseconds slot,
                              std::vector<double> coeff_per_node) {
  return sys.spawn<caf::detached>(block_driver, std::move(w), slot, std::move(coeff_per_node));
}

} // namespace troupe::backends::local
