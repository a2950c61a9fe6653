#include "backends/attach/attach_backend.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <caf/all.hpp>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include "actors/errors.hpp"
#include "actors/json_read.hpp"
#include "actors/link_requests.hpp"
#include "actors/log_scan.hpp"
#include "actors/node_command.hpp"
#include "actors/node_protocol.hpp"
#include "actors/units.hpp"
#include "actors/url.hpp"
#include "backends/adapters/adapter.hpp"
#include "backends/adapters/reported_chain.hpp"
#include "backends/adapters/tx_index.hpp"
#include "backends/agent/command_runner.hpp"
#include "backends/local/program.hpp"

namespace troupe::backends::attach {

namespace {

using nlohmann::json;
using poll_atom = caf::atom_constant<caf::atom("attpoll")>;

constexpr const char* refusal_reason =
  "the attach backend controls nothing it did not start: it reaches these nodes only through "
  "their adapter, which offers no control or network fault; run them on a backend that "
  "starts them (local) to break them";

} // namespace

// -- options ---------------------------------------------------------------------

attach_options read_options(params_reader& r) {
  attach_options o;
  r.items("nodes", "a list of nodes", [&](params_reader& q) {
    attached_node n;
    n.id = q.string("id", "", true);
    n.program = q.string("program", "");
    q.section("vars", [&](params_reader& v) {
      for (auto it = v.object().begin(); it != v.object().end(); ++it) {
        if (it.value().is_string())
          n.vars[it.key()] = it.value().get<std::string>();
        else if (it.value().is_number_integer())
          n.vars[it.key()] = std::to_string(it.value().get<int64_t>());
        else
          v.error(it.key().c_str(), "must be a string or an integer");
      }
      std::vector<std::string> keys;
      for (auto it = v.object().begin(); it != v.object().end(); ++it)
        keys.push_back(it.key());
      for (const auto& k : keys)
        v.allow({k.c_str()});
    });
    q.finish();
    o.nodes.push_back(std::move(n));
  });
  o.discovery = r.string("discovery", "");
  if (!o.discovery.empty()) {
    try {
      parse_http_url(o.discovery, "backend.discovery", url_rules{true, true, false});
    } catch (const user_error& e) {
      r.error("discovery", e.what());
    }
  }
  o.window = r.dur("window", o.window, std::chrono::milliseconds(100));
  o.poll = r.dur("poll", o.poll, std::chrono::milliseconds(50));
  o.poll_interval = r.dur("poll_interval", o.poll_interval, std::chrono::milliseconds(50));
  if (!r.describing() && o.nodes.empty() && o.discovery.empty())
    r.error("nodes", "give the nodes to attach to (\"nodes\": [{\"id\", \"program\", \"vars\"}]) "
                     "or a registry (\"discovery\": \"http://HOST:PORT\")");
  return o;
}

// -- impl ------------------------------------------------------------------------

/// What the run knows of one node: where to reach it, and whether it is there.
struct member {
  std::string id;
  local::program_ptr prog;
  std::map<std::string, std::string> vars;
  bool present = false;
  uint64_t version = 0; ///< bumped when vars change: the proxy rebuilds its adapter
};

struct attach_backend::impl {
  attach_options opts;
  std::chrono::milliseconds rpc_timeout{5000};
  caf::actor_clock::time_point origin{};
  std::vector<caf::actor> actors;
  /// Every proxy's submitted transactions: a node reports those another node took, too.
  adapters::tx_index txs;

  mutable std::mutex mutex;
  std::vector<member> members; ///< topology order
  std::map<std::string, size_t> index;
  std::atomic<uint64_t> joins{0}, leaves{0}, registry_polls{0}, registry_errors{0};

  std::thread poller;
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stopping = false;

  member snapshot(size_t i) const {
    std::lock_guard<std::mutex> lk(mutex);
    return members[i];
  }

  /// One poll of the registry: who is online now, with which endpoints.
  void poll_registry() {
    ++registry_polls;
    auto u = parse_http_url(opts.discovery, "backend.discovery", url_rules{true, true, false});
    httplib::Client c{u.host, u.port};
    c.set_connection_timeout(2, 0);
    c.set_read_timeout(5, 0);
    const auto window_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(opts.window).count();
    auto res = c.Get(("/v1/online?window=" + std::to_string(window_ms) + "ms").c_str());
    if (!res || res->status != 200) {
      ++registry_errors;
      return; // a registry that is briefly away changes nothing: the last view stands
    }
    json doc;
    try {
      doc = parse_json_bounded(res->body, "registry " + opts.discovery);
    } catch (const user_error&) {
      ++registry_errors;
      return;
    }
    std::map<std::string, std::map<std::string, std::string>> online;
    for (const auto& n : doc.value("nodes", json::array())) {
      if (!n.is_object() || !n.contains("id") || !n["id"].is_string())
        continue;
      auto& vars = online[n["id"].get<std::string>()];
      for (const char* part : {"labels", "endpoints"})
        if (n.contains(part) && n[part].is_object())
          for (auto it = n[part].begin(); it != n[part].end(); ++it)
            if (it.value().is_string())
              vars[it.key()] = it.value().get<std::string>();
    }
    std::lock_guard<std::mutex> lk(mutex);
    for (auto& m : members) {
      auto it = online.find(m.id);
      const bool now = it != online.end();
      if (now && !m.present) {
        ++joins;
        spdlog::info("attach: {} joined (registry {})", m.id, opts.discovery);
      } else if (!now && m.present) {
        ++leaves;
        spdlog::info("attach: {} left (not in the registry within {})", m.id,
                     format_duration(opts.window));
      }
      if (now) {
        auto vars = m.vars;
        for (const auto& [k, v] : it->second)
          vars[k] = v;
        if (vars != m.vars || !m.present) {
          m.vars = std::move(vars);
          ++m.version;
        }
      }
      m.present = now;
    }
  }

  void run_poller() {
    std::unique_lock<std::mutex> lk(stop_mutex);
    while (!stopping) {
      lk.unlock();
      poll_registry();
      lk.lock();
      stop_cv.wait_for(lk, opts.poll, [&] { return stopping; });
    }
  }
};

namespace {

// -- the proxy: one per node ---------------------------------------------------------

struct proxy_state {
  std::shared_ptr<attach_backend::impl> im;
  size_t index = 0;
  std::string id;
  adapters::adapter_ptr adapter;
  uint64_t adapter_version = 0;
  node_status last;
  /// What the run was told of the node's chain; made with the first adapter (it knows the
  /// finality depth), made anew when the registry changes the depth.
  std::optional<adapters::reported_chain> chain;
  std::vector<std::pair<caf::actor, block_filter>> subscribers;
  static inline const char* name = "attach_proxy";
};

using proxy_actor = caf::stateful_actor<proxy_state>*;

int64_t run_time_ns(proxy_actor self) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(self->clock().now() -
                                                              self->state.im->origin)
    .count();
}

void emit(proxy_actor self, std::vector<block_event> evs) {
  for (auto& ev : evs)
    for (auto& [a, kinds] : self->state.subscribers)
      if (kinds & block_filter_of(ev.kind))
        self->send(a, ev);
}

/// The adapter for the node's current vars (rebuilt when the registry changes them); null
/// when the node is not there or its settings cannot be rendered.
adapters::adapter* adapter_of(proxy_actor self, const member& m) {
  auto& st = self->state;
  if (!m.present)
    return nullptr;
  if (!st.adapter || st.adapter_version != m.version) {
    auto vars = m.vars;
    vars.emplace("id", m.id);
    auto settings = local::render_json(m.prog->adapter, vars, "attach: " + m.id + " adapter");
    st.adapter =
      adapters::make_adapter(settings, m.id, st.im->rpc_timeout, "attach: " + m.id + " adapter");
    st.adapter_version = m.version;
    uint64_t depth = 0;
    try {
      depth = std::stoull(local::render(m.prog->finality_depth, vars, "attach: " + m.id));
    } catch (const std::exception&) {
      depth = 0;
    }
    if (!st.chain || st.chain->finality_depth() != depth)
      st.chain.emplace(st.id, depth, st.im->txs);
  }
  return st.adapter.get();
}

void poll(proxy_actor self) {
  auto& st = self->state;
  const auto m = st.im->snapshot(st.index);
  node_status s;
  s.id = st.id;
  try {
    if (auto* a = adapter_of(self, m)) {
      s = a->status();
      s.id = st.id;
      s.up = true;
      const uint64_t depth = st.chain->finality_depth();
      s.final_height = s.height > depth ? s.height - depth : 0;
      if (const auto* h = st.chain->hash_at(s.final_height))
        s.final_tip = *h;
      // Blocks before the run's first look at the node are not the run's.
      emit(self, st.chain->look(*a, s, run_time_ns(self)));
    }
  } catch (const std::exception&) {
    s = node_status{};
    s.id = st.id; // not answering: down, whatever the registry says
  }
  st.last = s;
}

/// A node-side command: attach has no agent on the nodes' hosts, so it runs on troupe's own
/// (where a sidecar beside loopback nodes would), with the node's vars as placeholders.
command_result run_here(proxy_actor self, const command_request& req) {
  auto& st = self->state;
  const auto m = st.im->snapshot(st.index);
  command_result out;
  try {
    auto vars = m.vars;
    vars.emplace("id", m.id);
    out.command = local::render(req.command, vars, "commands: the command for " + m.id);
    agent::command_spec c;
    c.command = out.command;
    c.timeout = std::chrono::milliseconds(req.timeout_ms);
    c.tail_lines = req.tail_lines;
    for (const auto& [k, v] : req.env)
      c.env.emplace_back(k, v);
    c.env.emplace_back("TROUPE_NODE_ID", m.id);
    auto o = agent::run_command(c);
    out.ran = true;
    out.exit_code = o.exit_code;
    out.timed_out = o.timed_out;
    out.status = o.status;
    out.tail = o.tail;
    out.seconds = o.seconds;
  } catch (const std::exception& e) {
    out.status = e.what();
  }
  return out;
}

caf::behavior proxy(proxy_actor self, std::shared_ptr<attach_backend::impl> im, size_t index) {
  self->state.im = im;
  self->state.index = index;
  self->state.id = im->snapshot(index).id;
  poll(self);
  self->delayed_send(self, im->opts.poll_interval, poll_atom::value);
  return {
    [=](poll_atom) {
      poll(self);
      self->delayed_send(self, self->state.im->opts.poll_interval, poll_atom::value);
    },
    [=](get_status_atom) { return self->state.last; },
    // Nothing of troupe runs beside an attached node: its log is nobody's to count.
    [](log_count_atom, const log_count_request&) -> log_count_report {
      log_count_report r;
      r.why = "an attached node has no agent beside it to count its log";
      return r;
    },
    [=](submit_tx_atom, const transaction& tx) -> tx_ack {
      auto& st = self->state;
      const auto m = st.im->snapshot(st.index);
      adapters::adapter* a = nullptr;
      try {
        a = adapter_of(self, m);
      } catch (const std::exception& e) {
        return {false, e.what()};
      }
      if (!a || !st.last.up)
        return {false, st.id + " is not online"};
      auto r = a->submit(tx, "");
      if (!r.accepted)
        return {false, r.reason};
      if (!r.real_id.empty())
        st.im->txs.add(r.real_id, tx.id);
      if (r.height)
        st.im->txs.landed(*r.height, tx.id);
      return {true, ""};
    },
    [=](subscribe_atom, const caf::actor& sub) {
      self->state.subscribers.emplace_back(sub, blocks_all);
      return true;
    },
    [=](subscribe_atom, const caf::actor& sub, block_filter kinds) {
      self->state.subscribers.emplace_back(sub, kinds);
      return true;
    },
    [=](run_command_atom, const command_request& req) { return run_here(self, req); },
    [=](control_atom, control_action) {
      return control_ack{false, refusal_reason};
    },
  };
}

/// Network-level faults: none. Statuses: asked of each node (the empty list says so).
caf::behavior fabric() {
  return {
    [](get_status_atom) { return std::vector<node_status>{}; },
    [](partition_atom, const partition_cmd&) {
      return control_ack{false, refusal_reason};
    },
    [](heal_atom) {
      return control_ack{false, refusal_reason};
    },
    [](set_link_atom, const link_cmd&) {
      return control_ack{false, refusal_reason};
    },
    [](clog_atom, const clog_cmd&) {
      return control_ack{false, refusal_reason};
    },
    [](skew_atom, const clock_skew_cmd&) {
      return control_ack{false, refusal_reason};
    },
  };
}

} // namespace

// -- attach_backend ------------------------------------------------------------------

attach_backend::attach_backend()
  : impl_(std::make_shared<impl>()) {}

attach_backend::~attach_backend() { teardown(); }

deployment attach_backend::deploy(caf::actor_system& sys, const scenario& s,
                                  const expanded_topology& topo, const run_env& env) {
  (void) env;
  auto& im = *impl_;
  {
    std::vector<validation_error> errors;
    params_reader r{s.backend.params, "backend", errors};
    im.opts = read_options(r);
    if (!errors.empty())
      throw validation_failed(errors);
  }
  refuse_unshapeable_links(*this, s, topo);
  // Every topology node: its listed entry (or only its program, for the registry to fill).
  std::map<std::string, const attached_node*> listed;
  for (const auto& n : im.opts.nodes)
    listed[n.id] = &n;
  for (const auto& n : im.opts.nodes)
    if (std::none_of(topo.nodes.begin(), topo.nodes.end(),
                     [&](const node_info& t) { return t.id == n.id; }))
      throw user_error("backend.nodes: \"" + n.id +
                       "\" is not a node of the topology; name it as a group member (e.g. a "
                       "group \"member\" of 3 has member-0, member-1, member-2)");
  for (const auto& t : topo.nodes) {
    member m;
    m.id = t.id;
    std::string program = t.spec.program;
    auto it = listed.find(t.id);
    if (it != listed.end()) {
      if (!it->second->program.empty())
        program = it->second->program;
      m.vars = it->second->vars;
      m.present = true;
    } else if (im.opts.discovery.empty()) {
      throw user_error("backend.nodes names no \"" + t.id +
                       "\" and there is no \"discovery\" registry to find it in; list it or "
                       "give the registry's URL");
    }
    // The address placeholder of the built-in programs' adapters, unless the node's vars (or
    // the registry's endpoints) name another.
    m.vars.emplace("host", "127.0.0.1");
    if (program.empty())
      throw user_error("node " + t.id +
                       ": no program to reach it with; give the group a "
                       "\"program\" (e.g. \"etcd\") or the node entry one");
    m.prog = local::load_program(program);
    if (!m.prog->adapter.is_object())
      throw user_error("program " + program +
                       " has no adapter; attach reaches nodes only "
                       "through their program's adapter");
    im.index[m.id] = im.members.size();
    im.members.push_back(std::move(m));
  }
  if (!im.opts.discovery.empty()) {
    im.poll_registry(); // the first view before the run starts
    im.poller = std::thread([this] { impl_->run_poller(); });
  }
  // A listed node must answer now: attach starts nothing, so a wrong address is bad input.
  for (const auto& m : im.members) {
    if (!listed.count(m.id))
      continue;
    auto vars = m.vars;
    vars.emplace("id", m.id);
    auto a = adapters::make_adapter(local::render_json(m.prog->adapter, vars, "attach: " + m.id),
                                    m.id, im.rpc_timeout, "attach: " + m.id);
    try {
      a->status();
    } catch (const std::exception& e) {
      teardown();
      throw user_error("attach: " + m.id + " does not answer (" + e.what() +
                       "); check its vars in backend.nodes and that it runs");
    }
  }
  im.origin = sys.clock().now();
  deployment d;
  for (size_t i = 0; i < im.members.size(); ++i) {
    auto a = sys.spawn<caf::detached>(proxy, impl_, i);
    im.actors.push_back(a);
    const auto& t = topo.nodes[i];
    d.nodes.push_back({t.id, t.group, t.role, a});
  }
  d.fabric = sys.spawn(fabric);
  im.actors.push_back(d.fabric);
  return d;
}

void attach_backend::drive(caf::actor_system&, const std::function<bool()>& done) {
  while (!done())
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

void attach_backend::teardown() noexcept {
  auto& im = *impl_;
  {
    std::lock_guard<std::mutex> lk(im.stop_mutex);
    im.stopping = true;
  }
  im.stop_cv.notify_all();
  if (im.poller.joinable())
    im.poller.join();
  // Only troupe's own actors (and their connections) end: the nodes are not ours.
  for (auto& a : im.actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  im.actors.clear();
}

std::optional<std::string> attach_backend::refusal(const fault_request& r, const scenario& s,
                                                   const expanded_topology& topo) const {
  (void) r;
  (void) s;
  (void) topo;
  return std::string(refusal_reason);
}

nlohmann::json attach_backend::results() const {
  return {{"attach",
           {{"discovery", impl_->opts.discovery},
            {"joins", impl_->joins.load()},
            {"leaves", impl_->leaves.load()},
            {"registry_polls", impl_->registry_polls.load()},
            {"registry_errors", impl_->registry_errors.load()}}}};
}

} // namespace troupe::backends::attach
