#include "backends/local/local_backend.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/link_requests.hpp"
#include "actors/units.hpp"
#include "backends/adapters/wallet_funding.hpp"
#include "backends/agent/for_each_bounded.hpp"
#include "backends/local/link_profiles.hpp"
#include "backends/local/local_hosts.hpp"
#include "backends/local/node_clocks.hpp"
#include "backends/local/node_namespaces.hpp"
#include "backends/local/proxy.hpp"

namespace troupe::backends::local {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

namespace {

int64_t ms_since(steady::time_point t0) {
  return std::chrono::duration_cast<milliseconds>(steady::now() - t0).count();
}

/// Runs `fn(i)` for i in [0, n) on up to `threads_max` threads; returns the first error (by
/// index) any call threw or returned as a non-empty string.
std::string parallel_for(size_t n, size_t threads_max,
                         const std::function<std::string(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::vector<std::string> errors(n);
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) {
      try {
        errors[i] = fn(i);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
  };
  std::vector<std::thread> threads;
  for (size_t t = 0; t < std::min(n, threads_max); ++t)
    threads.emplace_back(work);
  for (auto& t : threads)
    t.join();
  for (auto& e : errors)
    if (!e.empty())
      return e;
  return {};
}

uint64_t parse_count(const std::string& text, const std::string& where) {
  try {
    size_t used = 0;
    auto v = std::stoull(text, &used);
    if (used == text.size())
      return v;
  } catch (const std::exception&) {
  }
  throw user_error(where + ": must be an integer >= 0, got \"" + text + "\"");
}

} // namespace

namespace {

// The reader is the node's params (`...node.params`): the program is named beside them.
std::string program_path(const params_reader& r) {
  auto path = r.path();
  const std::string suffix = ".params";
  if (path.size() > suffix.size() &&
      path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
    path.resize(path.size() - suffix.size());
  return path + ".program";
}

} // namespace

void validate_node(params_reader& r, const group& g, const std::string& program_ref) {
  try {
    auto p = load_program(program_ref);
    if (g.scrape) {
      // The reader is the group's node params: the group's own path is two keys up.
      auto path = r.path();
      const std::string suffix = ".node.params";
      if (path.size() > suffix.size() &&
          path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
        path.resize(path.size() - suffix.size());
      path += ".scrape";
      if (!p->metrics)
        r.errors().push_back(
          {path, "program " + p->name +
                   " exposes no /metrics (its program JSON has no "
                   "\"metrics\" key), so there is nothing to scrape: remove \"scrape\" from "
                   "this group"});
      else if (g.scrape->series.empty() && p->metrics->series.empty())
        r.errors().push_back({path + ".series", "is needed: program " + p->name +
                                                  " names no default series in its \"metrics\""});
    }
    validate_params(*p, r);
  } catch (const validation_failed& e) {
    for (auto& err : e.errors())
      r.errors().push_back({program_path(r), err.to_string()});
    r.allow({});
  } catch (const user_error& e) {
    r.errors().push_back({program_path(r), e.what()});
  }
}

leadership program_leadership(const program& p, const std::string& role,
                              const nlohmann::json& params) {
  if (!p.blocks.is_object())
    return {false, false, false,
            "program " + p.name +
              " has no \"blocks\" section, so troupe chooses none of its block producers"};
  // As in the sim backend: every role but observers leads, unless `roles` lists the leading
  // roles; the node param `leader` overrides both.
  if (params.is_object() && params.contains("leader") && params["leader"].is_boolean()) {
    const bool l = params["leader"].get<bool>();
    return {true, l, false, std::string("params.leader is ") + (l ? "true" : "false")};
  }
  if (p.blocks.contains("roles")) {
    auto roles = p.blocks["roles"].get<std::vector<std::string>>();
    std::string listed;
    for (const auto& r : roles)
      listed += (listed.empty() ? "\"" : ", \"") + r + "\"";
    return {true, std::find(roles.begin(), roles.end(), role) != roles.end(), true,
            "program " + p.name + " leads on the roles " + listed};
  }
  return {true, role != "observer", true,
          "program " + p.name + " leads on every role but \"observer\""};
}

leadership program_leadership(const group& g, const std::string& program_ref) {
  try {
    return program_leadership(*load_program(program_ref), g.role, g.node.params);
  } catch (const std::exception&) {
    // Validation reports why the program cannot be read; nothing to say about its blocks.
    return {false, false, false, "program " + program_ref + " cannot be read"};
  }
}

// -- lifecycle ------------------------------------------------------------------

local_backend::local_backend()
  : hosts_(std::make_unique<local_hosts>()) {}

local_backend::local_backend(std::unique_ptr<hosts> h)
  : hosts_(std::move(h)) {}

local_backend::~local_backend() { teardown(); }

void local_backend::set_vars(live_node& node, const run_env& env) {
  const auto& info = node.info;
  const auto& host = world_->hosts.at(node.host);
  auto& v = node.vars;
  v["id"] = info.id;
  v["index"] = std::to_string(info.index);
  v["group"] = info.group;
  v["role"] = info.role;
  v["group_index"] = std::to_string(info.group_index);
  v["host"] = host.address;
  v["reached_from"] = host.reached_from;
  v["seed"] = std::to_string(env.seed);
  v["run_dir"] =
    host.remote ? host.nodes_dir.parent_path().string() : fs::absolute(env.run_dir).string();
  v["data_dir"] = (host.nodes_dir / info.id).string();
  for (auto& [k, val] : node.prog->vars)
    v[k] = val;
  for (auto& [k, val] : param_values(*node.prog, info.spec.params))
    v["param." + k] = val;
  auto& ports = *ports_.at(node.host);
  const auto chosen = hosts_->ports_of(info.index);
  for (auto& [name, base] : node.prog->ports) {
    if (auto it = chosen.find(name); it != chosen.end()) {
      v[name] = std::to_string(it->second);
      continue;
    }
    auto what = name + " of " + info.id;
    auto port = base > 0 ? ports.reserve(static_cast<uint16_t>(base + info.index), what)
                         : ports.allocate(what);
    v[name] = std::to_string(port);
  }
}

void local_backend::build_nodes(const scenario& s, const expanded_topology& topo,
                                const run_env& env) {
  opts_ = hosts_->options(s);
  auto w = std::make_shared<world>();
  w->topo = topo;
  w->seed = env.seed;
  w->rpc_timeout = opts_.rpc_timeout;
  w->poll_interval = opts_.poll_interval;
  w->agent_polls = opts_.poll == "agent";
  w->ready_timeout = opts_.ready_timeout;
  w->reach_here = [h = hosts_.get()](size_t host, uint16_t port) {
    return h->reach_here(host, port);
  };
  w->crash_host = [h = hosts_.get()](size_t host) { return h->crash(host); };
  w->host_lost = [h = hosts_.get()](size_t host) { return h->lost(host); };
  w->adopt_host = [this](size_t host) { return adopt_host(host); };
  world_ = w;
  run_dir_ = env.run_dir;

  // Programs and binaries first: a missing binary is reported before anything starts.
  auto base_dir =
    env.scenario_path.empty() ? fs::path{} : fs::path{env.scenario_path}.parent_path();
  std::map<std::string, program_ptr> programs;
  std::map<std::string, std::string> binaries;
  for (auto& n : topo.nodes) {
    if (n.spec.program.empty())
      throw user_error("group " + n.group + " has no node program, so the " + hosts_->backend() +
                       " backend cannot run it: add \"program\" (e.g. \"litecoin-regtest\") to "
                       "its node spec");
    auto& p = programs[n.spec.program];
    if (!p) {
      p = load_program(n.spec.program, base_dir);
      binaries[n.spec.program] = hosts_->binary(*p);
    }
    std::vector<validation_error> perrs;
    params_reader pr{n.spec.params, "topology.groups[" + n.group + "].node.params", perrs};
    validate_params(*p, pr);
    if (!perrs.empty())
      throw validation_failed(std::move(perrs));
  }
  start_agents(s, topo, env);
  // After the agents started: the hosts' limits can depend on what their agents said.
  w->limits = hosts_->limits();

  auto nodes_dir = env.run_dir / "nodes";
  fs::create_directories(nodes_dir);
  const auto placement = hosts_->placement();
  w->nodes.resize(topo.nodes.size());
  for (size_t i = 0; i < topo.nodes.size(); ++i) {
    auto& node = w->nodes[i];
    node.info = topo.nodes[i];
    node.prog = programs[node.info.spec.program];
    node.host = placement.at(i);
    set_vars(node, env);
  }
  // Second pass: everything that needs the peers' values.
  for (size_t i = 0; i < topo.nodes.size(); ++i)
    w->nodes[i].endpoint = endpoint_of(i);
  build_relays(env);
  const bool with_clocks = !w->limits.no_skew && (opts_.faketime == "always" ||
                                                  (opts_.faketime == "auto" && asks_for_skew(s)));
  for (size_t i = 0; i < topo.nodes.size(); ++i) {
    auto& node = w->nodes[i];
    auto& p = *node.prog;
    auto po = render_command(i, binaries[node.info.spec.program]);
    const auto& host = w->hosts[node.host];
    // A remote node's clock file is on its host, written there by its agent.
    auto write = host.remote ? written_by(w->sup->agent(node.host))
                             : agent::node_clock::writer{agent::node_clock::write_here};
    w->clocks.push_back(with_clocks ? make_node_clock(p, host.nodes_dir, node.info.id, write)
                                    : nullptr);
    if (auto& clock = w->clocks.back())
      for (auto& kv : clock->environment())
        po.env.push_back(kv);
    enter_namespace(*w, i, po);
    render_settings(i, po);
    // Check the adapter settings now: a bad program file is bad input, not a runtime failure.
    w->make_adapter(i);
    node.slot = w->sup->add(node.host, std::move(po), p.stop_grace);
  }
}

process_options local_backend::render_command(size_t i, const std::string& binary) {
  auto& w = *world_;
  auto& node = w.nodes[i];
  auto& p = *node.prog;
  auto where = "program " + p.name + " (node " + node.info.id + ")";
  std::vector<size_t> peers;
  if (p.join_scope == "all") {
    for (size_t j = 0; j < w.nodes.size(); ++j)
      if (w.nodes[j].prog == node.prog)
        peers.push_back(j);
  } else {
    for (auto j : w.topo.peers[i])
      peers.push_back(j);
  }
  std::string joined;
  for (auto j : peers) {
    auto relayed = node.peer_endpoints.find(j);
    joined += (joined.empty() ? "" : p.join_separator) +
              (relayed == node.peer_endpoints.end() ? w.nodes[j].endpoint : relayed->second);
  }
  node.vars["peers"] = joined;

  process_options po;
  po.id = node.info.id;
  po.binary = binary;
  for (auto& arg : p.args) {
    if (arg.find("{peer.") == std::string::npos) {
      po.args.push_back(render(arg, node.vars, where));
      continue;
    }
    for (auto j : peers) {
      if (j == i)
        continue;
      auto vars = node.vars;
      for (auto& [k, val] : w.nodes[j].vars)
        vars["peer." + k] = val;
      // Through the fabric, the port this node dials is the link relay's, beside it.
      if (auto r = relay_ports_.find({i, j}); r != relay_ports_.end()) {
        vars["peer." + p.join_port] = std::to_string(r->second);
        vars["peer.host"] = node.vars["host"];
      }
      po.args.push_back(render(arg, vars, where));
    }
  }
  for (auto& [k, val] : p.env)
    po.env.emplace_back(k, render(val, node.vars, where));
  return po;
}

void local_backend::render_settings(size_t i, process_options& po) {
  auto& w = *world_;
  auto& node = w.nodes[i];
  auto& p = *node.prog;
  auto where = "program " + p.name + " (node " + node.info.id + ")";
  const auto& host = w.hosts[node.host];
  po.cwd = node.vars["data_dir"];
  po.log_path = host.nodes_dir / (node.info.id + ".log");
  po.pid_path = host.nodes_dir / (node.info.id + ".pid");
  po.log_bytes_max = opts_.log_bytes_max;
  po.log_files_max = opts_.log_files_max;
  auto settings = render_json(p.adapter, node.vars, where + ": adapter");
  nlohmann::json agent_settings;
  if (host.reach() != host.address) {
    // troupe reaches the node elsewhere than its agent does (a container's published port).
    agent_settings = settings;
    auto reached = node.vars;
    reached["host"] = host.reach();
    settings = render_json(p.adapter, reached, where + ": adapter");
  }
  {
    std::lock_guard<std::mutex> guard{w.addresses_mutex};
    node.adapter_settings = std::move(settings);
    node.agent_adapter_settings = std::move(agent_settings);
  }
  node.finality_depth =
    parse_count(render(p.finality_depth, node.vars, where), where + ": finality_depth");
  if (!p.ready.port.empty())
    node.probe_port = static_cast<uint16_t>(std::stoi(node.vars[p.ready.port]));
  if (p.blocks.is_object())
    node.producer = program_leadership(p, node.info.role, node.info.spec.params).leads;
}

void local_backend::start_watches() {
  for (size_t i = 0; i < world_->nodes.size(); ++i)
    watch(i);
}

void local_backend::watch(size_t i) {
  auto& w = *world_;
  const auto& n = w.nodes[i];
  // The agent of its host, which knows the node by its own slot.
  nlohmann::json args{
    {"slot", w.sup->host_slot(n.slot)},
    {"adapter", n.agent_adapter_settings.is_null() ? n.adapter_settings : n.agent_adapter_settings},
    {"interval_ms", w.poll_interval.count()},
    {"timeout_ms", w.rpc_timeout.count()},
    {"finality_depth", n.finality_depth}};
  try {
    w.agent_of(i)->call("watch", std::move(args));
  } catch (const agent::agent_error& e) {
    throw user_error("the agent cannot watch " + n.info.id +
                     " (backend param \"poll\": " + "\"agent\"): " + e.what());
  }
}

void local_backend::start_agents(const scenario& s, const expanded_topology& topo,
                                 const run_env& env) {
  auto& w = *world_;
  auto t0 = steady::now();
  auto sup = std::make_shared<agent::multi_supervisor>();
  std::weak_ptr<agent::multi_supervisor> weak = sup;
  auto board = w.summaries;
  auto on_event = [weak, board](size_t host) -> agent::connection::event_handler {
    return [weak, board, host](const nlohmann::json& e) {
      auto sup = weak.lock();
      if (!sup)
        return;
      if (e.value("event", std::string{}) != "summary") {
        sup->on_event(host, e);
        return;
      }
      // The agent names the node by its own slot; the board, by the deployment's.
      auto it = e.find("slot");
      if (it == e.end() || !it->is_number_unsigned())
        return;
      const auto slot = sup->slot_of(host, it->get<size_t>());
      if (slot == SIZE_MAX)
        return;
      auto summary = e;
      summary["slot"] = slot;
      board->post(summary);
    };
  };
  for (auto& h : hosts_->start(s, topo, env, opts_, on_event)) {
    w.hosts.push_back(h.where);
    sup->add_host(h.agent);
    ports_.push_back(
      std::make_unique<port_allocator>(opts_.port_min, opts_.port_max, h.where.ipv4));
  }
  w.sup = sup;
  timing_["agent_ms"] = ms_since(t0);
}

void local_backend::build_relays(const run_env& env) {
  auto& w = *world_;
  relay_ports_.clear();
  if (!opts_.fabric)
    return;
  const auto caps = w.caps();
  std::shared_ptr<agent::multi_fabric> f;
  auto fabric = [&]() -> agent::multi_fabric& {
    if (!f) {
      f = std::make_shared<agent::multi_fabric>(env.seed);
      for (size_t h = 0; h < w.hosts.size(); ++h)
        f->add_host(w.sup->agent(h));
    }
    return *f;
  };
  for (size_t i = 0; i < w.nodes.size(); ++i) {
    auto& node = w.nodes[i];
    auto& p = *node.prog;
    // A program whose peers cannot be relayed keeps its direct connections; its network
    // faults are refused with the reason (capabilities).
    if (p.join_scope == "all" || caps.relay_refusal(p))
      continue;
    for (auto j : w.topo.peers[i]) {
      auto& peer = w.nodes[j];
      if (peer.prog != node.prog)
        continue;
      // On the dialer's host, listening on its address, forwarding to the peer's host.
      const auto& from = w.hosts[node.host];
      const auto& to = w.hosts[peer.host];
      auto target = static_cast<uint16_t>(std::stoi(peer.vars.at(p.join_port)));
      uint16_t port = 0;
      try {
        port =
          fabric().add_relay(node.host, node.info.id, peer.info.id, target, 0, from.ipv4, to.ipv4);
      } catch (const std::runtime_error& e) {
        throw user_error(std::string(e.what()) + ": free ports on " + from.address +
                         (from.remote ? " (host " + from.name + ")" : std::string{}) +
                         ", or run without relays (backend param \"fabric\": false)");
      }
      relay_ports_[{i, j}] = port;
      node.peer_endpoints[j] = relayed_endpoint(i, j);
    }
  }
  for (auto& n : w.nodes)
    if (caps.namespaced(*n.prog)) {
      build_namespaces(w, fabric(), env.run_dir);
      break;
    }
  w.fabric = f;
  if (f)
    f->start();
  shape_written_links(w);
}

std::string local_backend::endpoint_of(size_t i) const {
  const auto& node = world_->nodes[i];
  const auto& p = *node.prog;
  if (p.join_peer.empty())
    return {};
  return render(p.join_peer, node.vars, "program " + p.name + " (node " + node.info.id + ")");
}

std::string local_backend::relayed_endpoint(size_t i, size_t j) const {
  const auto& w = *world_;
  const auto& node = w.nodes[i];
  const auto& p = *node.prog;
  if (p.join_peer.empty())
    return {};
  // The peer's endpoint, as the relay beside node i stands for it: on i's host, at its port.
  auto vars = w.nodes[j].vars;
  vars[p.join_port] = std::to_string(relay_ports_.at({i, j}));
  vars["host"] = w.hosts[node.host].address;
  return render(p.join_peer, vars, "program " + p.name + " (node " + node.info.id + ")");
}

void local_backend::start_all(const run_env& env) {
  auto& w = *world_;
  auto t0 = steady::now();
  for (size_t i = 0; i < w.nodes.size(); ++i) {
    if (env.interrupted && *env.interrupted)
      throw user_error("interrupted while starting nodes", 130);
    try {
      w.sup->start(w.nodes[i].slot);
    } catch (const std::exception& e) {
      throw user_error("node " + w.nodes[i].info.id + " could not be started: " + e.what());
    }
  }
  timing_["spawn_ms"] = ms_since(t0);
  std::atomic<bool> failed{false};
  auto give_up = [&] { return failed.load() || (env.interrupted && *env.interrupted); };
  auto err = parallel_for(w.nodes.size(), 8, [&](size_t i) {
    if (give_up())
      return std::string{};
    auto e = w.wait_ready(i, give_up);
    // Only the node that failed first speaks; the others merely gave up waiting.
    if (e.empty() || failed.exchange(true))
      return std::string{};
    return e;
  });
  if (env.interrupted && *env.interrupted)
    throw user_error("interrupted while waiting for nodes to be ready", 130);
  if (!err.empty())
    throw user_error(err);
  timing_["ready_ms"] = ms_since(t0);
}

void local_backend::setup_wallets(const run_env& env) {
  auto& w = *world_;
  auto t0 = steady::now();
  std::vector<size_t> wallet_nodes;
  for (size_t i = 0; i < w.nodes.size(); ++i)
    if (w.nodes[i].prog->wallet.is_object())
      wallet_nodes.push_back(i);
  if (wallet_nodes.empty())
    return;
  // Adapters live as long as the setup: the wallet calls are theirs.
  std::vector<adapters::adapter_ptr> rpcs(w.nodes.size());
  auto wallet_of = [&](size_t i) -> adapters::wallet_rpc& {
    if (!rpcs[i])
      rpcs[i] = w.make_adapter(i);
    auto* wallet = rpcs[i]->wallet();
    if (!wallet)
      throw user_error("program " + w.nodes[i].prog->name + " has a wallet section, but its " +
                       rpcs[i]->kind() + " adapter has no wallet calls (use bitcoin-rpc)");
    return *wallet;
  };
  try {
    for (auto i : wallet_nodes)
      wallet_of(i); // every adapter made (and checked) before the parallel part
    // 1. A wallet and an address on every node, in parallel.
    auto err = parallel_for(wallet_nodes.size(), 8, [&](size_t k) {
      auto i = wallet_nodes[k];
      auto& rpc = *rpcs[i]->wallet();
      rpc.ensure_wallet();
      w.nodes[i].address = rpc.new_address();
      w.nodes[i].reward_address = w.nodes[i].address;
      return std::string{};
    });
    if (!err.empty())
      throw user_error("wallet setup failed: " + err);

    // 2. and 3. The funder (a block producer if there is one) pays every node.
    size_t funder = wallet_nodes.front();
    for (auto i : wallet_nodes)
      if (w.nodes[i].producer) {
        funder = i;
        break;
      }
    auto& fnode = w.nodes[funder];
    auto where = "program " + fnode.prog->name + ": wallet";
    const auto plan = adapters::read_funding_plan(
      render_json(fnode.prog->wallet, fnode.vars, where), where, wallet_nodes.size());
    std::vector<std::string> addresses;
    for (auto i : wallet_nodes)
      addresses.push_back(w.nodes[i].address);
    const auto tip =
      adapters::fund_addresses(wallet_of(funder), fnode.reward_address, addresses, plan);

    // 4. Every node on the funded tip before the run starts.
    auto deadline = steady::now() + opts_.setup_timeout;
    auto err2 = parallel_for(w.nodes.size(), 8, [&](size_t i) {
      auto a = w.make_adapter(i);
      for (;;) {
        if (env.interrupted && *env.interrupted)
          return std::string("interrupted");
        try {
          if (a->status().tip == tip)
            return std::string{};
        } catch (const adapters::rpc_error&) {
        }
        if (steady::now() >= deadline)
          return "node " + w.nodes[i].info.id + " did not reach the funded tip within " +
                 std::to_string(opts_.setup_timeout.count() / 1000) +
                 " s after wallet setup: check the topology joins every node (peers) or raise "
                 "setup_timeout";
        std::this_thread::sleep_for(milliseconds(100));
      }
    });
    if (env.interrupted && *env.interrupted)
      throw user_error("interrupted during wallet setup", 130);
    if (!err2.empty())
      throw user_error(err2);
  } catch (const adapters::rpc_error& e) {
    throw user_error(std::string("wallet setup failed: ") + e.what());
  }
  timing_["setup_ms"] = ms_since(t0);
}

void local_backend::start_actors(caf::actor_system& sys) {
  auto& w = *world_;
  w.origin = sys.clock().now();
  if (w.agent_polls)
    start_watches();
  for (size_t i = 0; i < w.nodes.size(); ++i)
    actors_.push_back(spawn_proxy(sys, world_, i));
  actors_.push_back(spawn_fabric(sys, world_));
  // The lottery: slot from the first producer's params, each producer's own coefficient.
  std::vector<double> coeff(w.nodes.size(), 0.0);
  std::optional<milliseconds> slot;
  for (size_t i = 0; i < w.nodes.size(); ++i) {
    auto& n = w.nodes[i];
    if (!n.producer)
      continue;
    auto where = "program " + n.prog->name + " (node " + n.info.id + "): blocks";
    auto b = render_json(n.prog->blocks, n.vars, where);
    auto slot_text = b.value("slot", std::string("1s"));
    auto d = parse_duration(slot_text);
    if (!d || d->count() <= 0)
      throw user_error(where + ".slot: must be a duration such as 1s, got \"" + slot_text + "\"");
    if (!slot)
      slot = to_ms(*d);
    auto c = b.contains("active_slot_coeff") ? b["active_slot_coeff"] : nlohmann::json("0.05");
    try {
      coeff[i] = c.is_number() ? c.get<double>() : std::stod(c.get<std::string>());
    } catch (const std::exception&) {
      throw user_error(where + ".active_slot_coeff: must be a probability, got " + c.dump());
    }
  }
  if (slot)
    actors_.push_back(spawn_block_driver(sys, world_, *slot, coeff));
}

std::vector<scrape_target> local_backend::scrape_targets(const scenario& s) const {
  std::vector<scrape_target> out;
  for (const auto& g : s.topology.groups) {
    if (!g.scrape)
      continue;
    scrape_target t;
    t.group = g.name;
    t.every = to_ms(g.scrape->every);
    for (size_t i = 0; i < world_->nodes.size(); ++i)
      if (world_->nodes[i].info.group == g.name)
        t.nodes.push_back(i);
    if (t.nodes.empty())
      continue;
    const auto& p = *world_->nodes[t.nodes.front()].prog;
    // The scenario reader checks this too; a scenario built in C++ reaches here unchecked.
    if (!p.metrics)
      throw user_error("group " + g.name + " asks to scrape program " + p.name +
                       ", which exposes no /metrics (its program file has no \"metrics\" "
                       "key): remove \"scrape\" from the group");
    t.program = p.name;
    t.path = p.metrics->path;
    t.port_name = p.metrics->port;
    const auto& names = g.scrape->series.empty() ? p.metrics->series : g.scrape->series;
    for (const auto& text : names) {
      std::string why;
      auto sel = parse_series_selector(text, &why);
      if (!sel)
        throw user_error("group " + g.name + ": scrape series \"" + text + "\" " + why);
      t.series.push_back(*sel);
    }
    out.push_back(std::move(t));
  }
  return out;
}

deployment local_backend::deploy(caf::actor_system& sys, const scenario& s,
                                 const expanded_topology& topo, const run_env& env) {
  teardown();
  torn_down_ = false;
  scraper_.reset();
  interrupted_ = env.interrupted;
  timing_ = nlohmann::json::object();
  adopted_ = nlohmann::json::array();
  ended_because_.clear();
  auto t0 = steady::now();
  refuse_unshapeable_links(*this, s, topo);
  try {
    build_nodes(s, topo, env);
    start_all(env);
    setup_wallets(env);
    auto targets = scrape_targets(s);
    start_actors(sys);
    if (!targets.empty()) {
      scraper_ = std::make_unique<metrics_scraper>(world_, std::move(targets));
      scraper_->start();
    }
  } catch (...) {
    teardown();
    throw;
  }
  timing_["deploy_ms"] = ms_since(t0);
  deployment d;
  for (size_t i = 0; i < world_->nodes.size(); ++i) {
    auto& info = world_->nodes[i].info;
    d.nodes.push_back({info.id, info.group, info.role, actors_[i]});
  }
  d.fabric = actors_[world_->nodes.size()];
  return d;
}

void local_backend::drive(caf::actor_system&, const std::function<bool()>& done) {
  // Live time is wall time: the actors run on their own threads; we only watch.
  while (!done()) {
    if (interrupted_ && *interrupted_)
      return;
    if (auto why = hosts_->ended()) {
      ended_because_ = *why;
      return;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
}

void local_backend::teardown() noexcept {
  std::lock_guard<std::mutex> guard{adopting_}; // a proxy's adopt_host, if one runs, first
  if (torn_down_)
    return;
  torn_down_ = true;
  // Before the nodes stop: their shutdown is not part of the run's metrics.
  if (scraper_)
    scraper_->stop();
  for (auto& a : actors_)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  actors_.clear();
  if (world_ && world_->sup) {
    milliseconds grace{0};
    for (auto& n : world_->nodes)
      grace = std::max(grace, n.prog ? n.prog->stop_grace : milliseconds(0));
    world_->sup->stop_all(grace);
    fetch_log_tails();
  }
  // After the nodes: their last connections end without the relays seeing a fault.
  if (world_ && world_->fabric)
    world_->fabric->stop();
  if (world_)
    remove_namespaces(*world_);
  // Last: the end of its stream is each agent's cue to stop whatever is left, and exit.
  hosts_->close();
  for (auto& p : ports_)
    p->release_all();
  ports_.clear();
}

void local_backend::fetch_log_tails() noexcept {
  const auto bytes = hosts_->log_tail_bytes();
  auto& w = *world_;
  if (bytes == 0)
    return;
  agent::for_each_bounded(w.nodes.size(), 32, [&](size_t i) {
    const auto& n = w.nodes[i];
    if (n.slot >= w.sup->size() || !w.hosts[n.host].remote)
      return;
    try {
      std::ofstream{run_dir_ / "nodes" / (n.info.id + ".log"), std::ios::binary}
        << w.sup->log_tail_bytes(n.slot, static_cast<size_t>(bytes));
    } catch (const std::exception&) {
      // Best effort: the log is still on its host.
    }
  });
}

// -- results --------------------------------------------------------------------

nlohmann::json local_backend::results() const {
  auto out = nlohmann::json::object();
  out["timing"] = timing_;
  if (!world_)
    return out;
  out["counters"] = world_->counters.to_json();
  hosts_->add_results(out);
  if (scraper_)
    out["program_metrics"] = scraper_->results();
  if (world_->fabric)
    out["fabric"] = world_->fabric->stats_json();
  if (!adopted_.empty())
    out["adopted_hosts"] = adopted_;
  auto nodes = nlohmann::json::array();
  for (auto& n : world_->nodes) {
    if (n.slot >= world_->sup->size())
      continue; // deploy failed before this node was set up
    nlohmann::json ports = nlohmann::json::object();
    if (n.prog)
      for (auto& [name, base] : n.prog->ports) {
        (void) base;
        ports[name] = std::stoi(n.vars.at(name));
      }
    nlohmann::json node{{"id", n.info.id},
                        {"program", n.prog ? n.prog->name : ""},
                        {"pid", world_->sup->pid(n.slot)},
                        {"log", world_->sup->options(n.slot).log_path.string()},
                        {"ports", ports}};
    if (const auto& h = world_->hosts.at(n.host); h.remote) {
      // Its PID and log are its host's; nodes/<id>.log here has the log's tail.
      node["host"] = h.name;
      node["address"] = h.address;
    }
    nodes.push_back(std::move(node));
  }
  out["nodes"] = nodes;
  return out;
}

std::optional<std::string> local_backend::refusal(const fault_request& r, const scenario& s,
                                                  const expanded_topology& topo) const {
  std::map<std::string, program_ptr> programs;
  std::vector<capabilities::node> nodes;
  for (const auto& n : topo.nodes) {
    if (n.spec.program.empty())
      return "group " + n.group + " has no node program, so the " + hosts_->backend() +
             " backend cannot run it";
    auto& p = programs[n.spec.program];
    if (!p) {
      try {
        p = load_program(n.spec.program);
      } catch (const std::exception& e) {
        return std::string(e.what());
      }
    }
    nodes.push_back({n.id, p.get()});
  }
  local_options o;
  try {
    o = hosts_->options(s);
  } catch (const std::exception&) {
    // Bad params are validation's to report; the defaults answer meanwhile.
  }
  const auto limits = hosts_->limits();
  if (r.action == "skew" && o.faketime == "never" && !limits.no_skew)
    return std::string("clock skew needs libfaketime under the nodes, and the backend param "
                       "\"faketime\" is \"never\"");
  return capabilities{std::move(nodes), o.fabric, limits}.refusal(r);
}

std::vector<pid_t> local_backend::spawned_pids() const {
  return world_ && world_->sup ? world_->sup->all_pids() : std::vector<pid_t>{};
}

std::vector<pid_t> local_backend::live_pids() const {
  return world_ && world_->sup ? world_->sup->live_pids() : std::vector<pid_t>{};
}

} // namespace troupe::backends::local
