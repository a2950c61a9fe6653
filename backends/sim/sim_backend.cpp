#include "backends/sim/sim_backend.hpp"

#include <cinttypes>
#include <cstdio>
#include <map>

#include <caf/all.hpp>

#include "actors/errors.hpp"
#include "actors/node_protocol.hpp"
#include "actors/scenario/leadership.hpp"
#include "sim/coordinator.hpp"
#include "sim/models/chain.hpp"
#include "sim/world.hpp"

namespace troupe::backends {

namespace {

using nlohmann::json;

// -- node models --------------------------------------------------------------

/// Leaders by default are every role but observers; `params.leader` overrides.
bool default_leader(const std::string& role) { return role != "observer"; }

/// The same rule, said for `troupe validate` and a run's first lines.
leadership chain_leadership(const group& g) {
  const auto& p = g.node.params;
  if (p.is_object() && p.contains("leader") && p["leader"].is_boolean()) {
    const bool l = p["leader"].get<bool>();
    return {true, l, false, std::string("params.leader is ") + (l ? "true" : "false")};
  }
  return {true, default_leader(g.role), true, "model chain leads on every role but \"observer\""};
}

struct model_entry {
  std::string name;
  std::string summary;
  std::function<sim::model_factory(const node_info&, std::vector<validation_error>&)> make;
  std::function<void(params_reader&, const group&)> validate;
  leadership_rule leads = {}; ///< none: the model declares no rule
  /// A link's transport when the scenario leaves it to the model (`"transport": "model"`).
  sim::link_options::transport_t transport = sim::link_options::datagram;
};

std::vector<model_entry>& models() {
  static std::vector<model_entry> table{
    {"chain", "slot-based longest-chain protocol (Ouroboros/Bitcoin-like)",
     [](const node_info& n, std::vector<validation_error>& errors) {
       auto p = sim::models::parse_chain_params(n.spec.params, default_leader(n.role), "", errors);
       return sim::models::make_chain_model(p);
     },
     [](params_reader& r, const group& g) {
       sim::models::read_chain_params(r, default_leader(g.role));
     },
     chain_leadership,
     // The chains it stands for speak TCP: a lost segment is resent, a partition breaks
     // the connection.
     sim::link_options::stream},
  };
  return table;
}

const model_entry* find_model(const std::string& name) {
  for (const auto& m : models())
    if (name == m.name)
      return &m;
  return nullptr;
}

/// What `"transport": "model"` means on a link between nodes of these models: stream when
/// either model speaks stream (a TCP end makes the link TCP), else datagram.
sim::link_options::transport_t model_transport(const std::string& a, const std::string& b) {
  for (const auto* name : {&a, &b})
    if (const auto* m = find_model(*name); m && m->transport == sim::link_options::stream)
      return sim::link_options::stream;
  return sim::link_options::datagram;
}

sim::link_options to_link_options(const link_profile& l,
                                  sim::link_options::transport_t model_choice) {
  // The scenario's jitter is "±": latency 50ms, jitter 10ms spreads delays over [40ms, 60ms].
  sim::link_options o;
  const auto lo = std::max(duration::zero(), l.latency - l.jitter);
  o.latency = lo;
  o.jitter = (l.latency + l.jitter) - lo;
  o.jitter_kind = sim::link_options::uniform;
  o.loss = l.loss;
  o.bandwidth_bps = l.bandwidth_bps;
  switch (l.transport) {
    case link_transport::model_default:
      o.transport = model_choice;
      break;
    case link_transport::datagram:
      o.transport = sim::link_options::datagram;
      break;
    case link_transport::stream:
      o.transport = sim::link_options::stream;
      break;
  }
  return o;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

} // namespace

void add_sim_model(registry& reg, const std::string& name, const std::string& summary,
                   std::function<sim::model_factory(const node_info&)> make,
                   std::function<void(params_reader&, const group&)> validate) {
  auto entry = model_entry{
    name, summary, [make](const node_info& n, std::vector<validation_error>&) { return make(n); },
    validate};
  for (auto& m : models())
    if (m.name == name) {
      m = entry;
      reg.add_model({name, summary, validate});
      return;
    }
  models().push_back(entry);
  reg.add_model({name, summary, validate});
}

// -- shared state -------------------------------------------------------------

struct sim_backend::impl {
  sim::kernel* kernel = nullptr;
  std::unique_ptr<sim::world> world;
  struct subscriber {
    caf::actor who;
    block_filter kinds = blocks_all; ///< the events it asked for
  };
  std::vector<std::vector<subscriber>> subscribers; ///< per node, in subscription order
  std::vector<caf::actor> actors;                   ///< proxies and fabric, for teardown
  const run_env* env = nullptr;
};

namespace {

using impl_ptr = std::shared_ptr<sim_backend::impl>;

std::vector<sim::node_index> indices(const sim::world& w, const std::vector<std::string>& ids,
                                     std::string& unknown) {
  std::vector<sim::node_index> out;
  for (const auto& id : ids)
    if (auto i = w.find(id))
      out.push_back(*i);
    else
      unknown = id;
  return out;
}

std::vector<std::string> w_ids(const sim::world& w) {
  std::vector<std::string> out;
  for (sim::node_index i = 0; i < w.size(); ++i)
    out.push_back(w.id(i));
  return out;
}

bool subscribe(const impl_ptr& im, sim::node_index i, const caf::actor& who, block_filter kinds) {
  im->subscribers[i].push_back({who, kinds});
  // The model builds this node's events of the kinds someone asked for, and no others.
  block_filter all = 0;
  for (const auto& s : im->subscribers[i])
    all |= s.kinds;
  im->world->set_observed_kinds(i, all);
  return true;
}

// One per node: the node protocol, answered from the world on the kernel's thread.
caf::behavior node_proxy(caf::event_based_actor* self, impl_ptr im, sim::node_index i) {
  // A stray error message (e.g. a subscriber's complaint) must not take the node down.
  self->set_error_handler([](caf::error&) {});
  return {
    [=](get_status_atom) { return im->world->status(i); },
    [=](submit_tx_atom, const transaction& tx) { return im->world->submit(i, tx); },
    [=](subscribe_atom, const caf::actor& who) { return subscribe(im, i, who, blocks_all); },
    [=](subscribe_atom, const caf::actor& who, block_filter kinds) {
      return subscribe(im, i, who, kinds);
    },
    [=](control_atom, control_action a) { return im->world->control(i, a); },
    [=](byzantine_atom, const byzantine_cmd& c) { return im->world->byzantine(i, c); },
  };
}

// The world's network-level faults.
caf::behavior fabric(caf::event_based_actor*, impl_ptr im) {
  return {
    // Every node's status in one answer (see collect_status in actors/node_queries.hpp).
    [=](get_status_atom) {
      std::vector<node_status> all;
      all.reserve(im->world->size());
      for (sim::node_index i = 0; i < im->world->size(); ++i)
        all.push_back(im->world->status(i));
      return all;
    },
    [=](partition_atom, const partition_cmd& cmd) {
      auto& w = *im->world;
      std::string unknown;
      std::vector<std::vector<sim::node_index>> sides;
      for (const auto& side : cmd.sides)
        sides.push_back(indices(w, side, unknown));
      if (!unknown.empty())
        return control_ack{false, "partition names unknown node \"" + unknown + "\""};
      if (sides.size() < 2)
        return control_ack{false, "partition needs at least two sides"};
      // Symmetric: every pair of sides is cut. One-way: only sides[0] -> each other side.
      for (size_t a = 0; a < sides.size(); ++a)
        for (size_t b = a + 1; b < sides.size(); ++b)
          if (cmd.symmetric || a == 0)
            w.partition(sides[a], sides[b], cmd.symmetric);
      return control_ack{true, {}};
    },
    [=](heal_atom) {
      im->world->heal_all();
      return control_ack{true, {}};
    },
    [=](set_link_atom, const link_cmd& cmd) {
      auto& w = *im->world;
      std::string unknown;
      auto from = indices(w, cmd.from, unknown);
      auto to = indices(w, cmd.to, unknown);
      if (!unknown.empty())
        return control_ack{false, "set_link names unknown node \"" + unknown + "\""};
      for (auto a : from)
        for (auto b : to) {
          if (a == b)
            continue;
          auto o = w.net().link(a, b);
          if (cmd.latency_ns >= 0)
            o.latency = duration{cmd.latency_ns};
          if (cmd.jitter_ns >= 0)
            o.jitter = duration{cmd.jitter_ns};
          if (cmd.loss >= 0)
            o.loss = cmd.loss;
          if (cmd.bandwidth_bps >= 0)
            o.bandwidth_bps = static_cast<uint64_t>(cmd.bandwidth_bps);
          w.set_link(a, b, o);
        }
      return control_ack{true, {}};
    },
    [=](clog_atom, const clog_cmd& cmd) {
      auto& w = *im->world;
      std::string unknown;
      auto from = indices(w, cmd.from.empty() ? w_ids(w) : cmd.from, unknown);
      auto to = indices(w, cmd.to.empty() ? w_ids(w) : cmd.to, unknown);
      if (!unknown.empty())
        return control_ack{false, "clog names unknown node \"" + unknown + "\""};
      if (cmd.duration_ns <= 0)
        return control_ack{false, "clog needs a duration above zero"};
      for (auto a : from)
        for (auto b : to)
          if (a != b)
            w.clog_link(a, b, duration{cmd.duration_ns});
      return control_ack{true, {}};
    },
    [=](skew_atom, const clock_skew_cmd& cmd) {
      auto i = im->world->find(cmd.node);
      if (!i)
        return control_ack{false, "clock skew names unknown node \"" + cmd.node + "\""};
      im->world->set_clock(*i, duration{cmd.offset_ns}, cmd.drift_ppm);
      return control_ack{true, {}};
    },
  };
}

} // namespace

// -- sim_backend --------------------------------------------------------------

sim_backend::~sim_backend() { teardown(); }

void sim_backend::configure(caf::actor_system_config& cfg) { sim::install(cfg); }

namespace {

/// Workloads' own events (job campaigns) into the world's trace, at the kernel's time.
class world_run_trace final : public run_trace {
public:
  explicit world_run_trace(std::weak_ptr<sim_backend::impl> im)
    : impl_(std::move(im)) {}
  void fold_event(uint32_t what, uint64_t a, uint64_t b) override {
    auto im = impl_.lock();
    if (!im || !im->world)
      return;
    im->world->events().fold(im->kernel->now(), sim::trace_kind::external, sim::no_node,
                             sim::no_node, what, a * 0x9E3779B97F4A7C15ULL ^ b);
  }

private:
  std::weak_ptr<sim_backend::impl> impl_;
};

} // namespace

deployment sim_backend::deploy(caf::actor_system& sys, const scenario& s,
                               const expanded_topology& topo, const run_env& env) {
  // Every node must have a model here: say which group lacks one and how to fix it.
  std::vector<validation_error> errors;
  for (size_t g = 0; g < s.topology.groups.size(); ++g) {
    const auto& grp = s.topology.groups[g];
    if (grp.node.model.empty())
      errors.push_back({"topology.groups[" + std::to_string(g) + "].node.model",
                        "the sim backend needs a model for group \"" + grp.name +
                          "\" (e.g. \"model\": \"chain\"); it names only program \"" +
                          grp.node.program + "\" — run it with --backend local"});
    else if (!find_model(grp.node.model))
      errors.push_back({"topology.groups[" + std::to_string(g) + "].node.model",
                        "unknown model \"" + grp.node.model + "\""});
  }
  if (!errors.empty())
    throw validation_failed(errors);

  run_duration_ = env.run_duration;
  impl_ = std::make_shared<impl>();
  impl_->env = &env;
  impl_->kernel = &sim::kernel_of(sys);
  sim::world::options opts;
  opts.seed = s.seed;
  // Pairs without a topology edge (rare: models send to their peers) take the first group's
  // model's transport.
  const std::string first_model = s.topology.groups.empty() ? "" : s.topology.groups[0].node.model;
  opts.default_link = to_link_options(s.topology.link, model_transport(first_model, first_model));
  if (env.write_events) {
    opts.events_path = (env.run_dir / "events.jsonl").string();
    opts.events_bytes_max = env.events_bytes_max;
  }
  opts.trace = trace_request_;
  impl_->world = std::make_unique<sim::world>(*impl_->kernel, opts);
  auto& w = *impl_->world;
  for (const auto& n : topo.nodes)
    w.add_node(n.id, find_model(n.spec.model)->make(n, errors));
  if (!errors.empty())
    throw validation_failed(errors);
  for (const auto& [a, b] : topo.edges) {
    w.connect(a, b);
    auto l = to_link_options(topo.link_between(a, b),
                             model_transport(topo.nodes[a].spec.model, topo.nodes[b].spec.model));
    w.set_link(a, b, l);
    w.set_link(b, a, l);
  }
  impl_->subscribers.resize(topo.nodes.size());
  // A model builds block events (with every transaction id) only for nodes someone
  // subscribed to: nobody has yet.
  for (const auto& n : topo.nodes)
    w.set_observed(n.index, false);
  std::weak_ptr<impl> weak = impl_;
  w.on_block_take([weak](block_event&& ev) {
    auto im = weak.lock();
    if (!im)
      return;
    auto i = im->world->find(ev.node);
    if (!i || im->subscribers[*i].empty())
      return;
    // One message shared by every subscriber that wants this kind: CAF messages are
    // copy-on-write, and the event (with its transaction ids) is moved in, not copied.
    const block_filter bit = block_filter_of(ev.kind);
    caf::message msg;
    for (const auto& sub : im->subscribers[*i])
      if (sub.kinds & bit) {
        if (msg.empty())
          msg = caf::make_message(std::move(ev));
        caf::anon_send(sub.who, msg);
      }
  });
  w.start();

  deployment dep;
  for (const auto& n : topo.nodes) {
    auto proxy = sys.spawn(node_proxy, impl_, n.index);
    impl_->actors.push_back(proxy);
    dep.nodes.push_back({n.id, n.group, n.role, proxy});
  }
  dep.fabric = sys.spawn(fabric, impl_);
  dep.trace = std::make_shared<world_run_trace>(impl_);
  impl_->actors.push_back(dep.fabric);
  return dep;
}

void sim_backend::drive(caf::actor_system&, const std::function<bool()>& done) {
  auto& k = *impl_->kernel;
  // Small virtual steps so the run ends close to when the runner finishes; a bound in
  // virtual time so a runner that never finishes cannot spin forever.
  const duration step = std::chrono::milliseconds(100);
  const duration limit = k.now() + 2 * run_duration_ + std::chrono::hours(1);
  const volatile int* interrupted = impl_->env ? impl_->env->interrupted : nullptr;
  while (!done() && !(interrupted && *interrupted) && k.now() < limit)
    k.run_until(k.now() + step);
}

void sim_backend::teardown() noexcept {
  if (!impl_)
    return;
  try {
    for (auto& a : impl_->actors)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    impl_->kernel->run_ready();
    auto& w = *impl_->world;
    w.events().flush();
    json counters = json::object();
    for (const auto& [name, value] : w.counters())
      counters[name] = value;
    // The names the report promises, beside the detailed ones.
    counters["messages"] = counters.value("net.delivered", 0);
    counters["drops"] = counters.value("net.dropped_loss", 0) +
                        counters.value("net.dropped_partition", 0) +
                        counters.value("net.dropped_crash", 0);
    results_ = json{{"digest", hex64(w.digest())}, {"counters", counters}};
    if (trace_out_)
      *trace_out_ = w.trace_result();
  } catch (...) {
    // Teardown never throws; results stay as far as they got.
  }
  impl_->subscribers.clear();
  impl_->actors.clear();
  impl_->world.reset();
  impl_.reset();
}

json sim_backend::results() const { return results_; }

json sim_backend::counters_now() const {
  // Reads the network's counters only: sampling leaves the world (and its digest) unchanged.
  if (!impl_ || !impl_->world)
    return json::object();
  auto c = impl_->world->counters();
  auto get = [&c](const char* k) -> uint64_t {
    auto it = c.find(k);
    return it == c.end() ? 0 : it->second;
  };
  return json{
    {"messages", get("net.delivered")},
    {"drops", get("net.dropped_loss") + get("net.dropped_partition") + get("net.dropped_crash")}};
}

void register_sim(registry& reg) {
  backend_kind b;
  b.name = "sim";
  b.summary = "deterministic simulation on virtual time";
  b.validate = [](params_reader&) {};
  b.make = [] { return std::make_unique<sim_backend>(); };
  reg.add_backend(std::move(b));
  for (const auto& m : models())
    reg.add_model({m.name, m.summary, m.validate, m.leads});
}

} // namespace troupe::backends
