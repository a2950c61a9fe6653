#include "workloads/steps.hpp"

#include <algorithm>

#include <caf/all.hpp>

#include "actors/run_context.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "actors/sync_actor.hpp"
#include "actors/units.hpp"
#include "workloads/fault_actions.hpp"

namespace troupe::workloads {

namespace steps_detail {

struct step {
  duration at{};
  std::string action;
  std::vector<std::string> nodes;              ///< selectors
  std::vector<std::vector<std::string>> sides; ///< partition: selectors per side
  bool symmetric = true;
  std::vector<std::string> from, to; ///< set_link
  link_cmd link;
  duration offset{};
  double drift_ppm = 0;
  duration clog_for{};     ///< clog: how long traffic is held
  std::string when_signal; ///< wait until this sync state ...
  uint64_t when_count = 0; ///< ... has this many entries (0: no wait)
  std::string state;       ///< signal: the state entered
};

void read_when(params_reader& q, step& st) {
  q.section("when", [&](params_reader& w) {
    st.when_signal = w.string("signal", "", true);
    st.when_count = static_cast<uint64_t>(w.integer("count", 1, 1, 1'000'000'000, true));
    w.finish();
  });
}

step read_step(params_reader& q, const scenario& s) {
  step st;
  read_when(q, st);
  st.at = q.dur("at", {}, duration::zero(), st.when_signal.empty() && !q.describing());
  if (st.at > s.run_duration)
    q.error("at", "is after the end of the run (" + format_duration(s.run_duration) +
                    "); the step would never happen");
  st.action = q.one_of("action",
                       {"stop", "start", "restart", "kill", "pause", "resume", "isolate", "heal",
                        "partition", "set_link", "clog", "skew", "signal"},
                       "", true);
  if (st.action.empty()) {
    // The action is missing or wrong (already reported): its other keys cannot be judged.
    q.allow({"nodes", "sides", "symmetric", "from", "to", "latency", "jitter", "loss", "bandwidth",
             "offset", "drift_ppm", "duration", "state"});
  }
  control_action ca;
  const bool node_action = parse_control_action(st.action, ca);
  if (st.action == "signal") {
    st.state = q.string("state", "", true);
    st.nodes = q.selectors("nodes");
    for (const auto& n : st.nodes)
      check_selector(q, "nodes", n, s);
  }
  if (node_action || st.action == "skew") {
    st.nodes = q.selectors("nodes");
    if (st.nodes.empty() && st.action != "heal" && q.has("action"))
      q.error("nodes", "is required for \"" + st.action +
                         "\": \"all\", a group name, a node id or a list of them");
    if (st.action != "heal")
      q.describe_rule({{"required", {"nodes"}}});
    for (const auto& n : st.nodes)
      check_selector(q, "nodes", n, s);
  }
  if (st.action == "partition") {
    auto sides = q.raw("sides");
    q.describe_key(
      "sides",
      {{"type", "array"},
       {"minItems", 2},
       {"items",
        {{"anyOf",
          {{{"type", "string"}}, {{"type", "array"}, {"items", {{"type", "string"}}}}}}}}});
    q.describe_rule({{"required", {"sides"}}});
    if (!sides || !sides->is_array() || sides->size() < 2) {
      q.error("sides", "is required for \"partition\": at least two lists of node ids or "
                       "groups, e.g. [[\"validator-0\"], [\"all\"]]");
    } else {
      for (size_t k = 0; k < sides->size(); ++k) {
        const std::string side_path = q.path_of("sides") + "[" + std::to_string(k) + "]";
        const auto& side = (*sides)[k];
        std::vector<std::string> sel;
        if (side.is_string()) {
          sel.push_back(side.get<std::string>());
          check_selector(q.errors(), side_path, sel.back(), s);
        } else if (!side.is_array()) {
          q.errors().push_back({side_path, "must be \"all\", a group name, a node id or a list "
                                           "of them, got " +
                                             describe_json(side)});
        } else {
          for (size_t m = 0; m < side.size(); ++m) {
            const std::string at = side_path + "[" + std::to_string(m) + "]";
            if (!side[m].is_string()) {
              q.errors().push_back({at, "must be a string, got " + describe_json(side[m])});
              continue;
            }
            sel.push_back(side[m].get<std::string>());
            check_selector(q.errors(), at, sel.back(), s);
          }
        }
        st.sides.push_back(sel);
      }
    }
    st.symmetric = q.boolean("symmetric", true);
  }
  if (st.action == "set_link" || st.action == "clog") {
    st.from = q.selectors("from");
    st.to = q.selectors("to");
    for (const auto& n : st.from)
      check_selector(q, "from", n, s);
    for (const auto& n : st.to)
      check_selector(q, "to", n, s);
  }
  if (st.action == "clog")
    st.clog_for = q.dur("duration", {}, std::chrono::milliseconds(1), true);
  if (st.action == "set_link") {
    if (q.given("latency"))
      st.link.latency_ns = q.dur("latency", {}).count();
    if (q.given("jitter"))
      st.link.jitter_ns = q.dur("jitter", {}).count();
    if (q.given("loss"))
      st.link.loss = q.probability("loss", 0);
    if (q.given("bandwidth"))
      st.link.bandwidth_bps = static_cast<int64_t>(q.bandwidth("bandwidth", 0));
  }
  if (st.action == "skew") {
    st.offset = q.dur("offset", {});
    st.drift_ppm = q.number("drift_ppm", 0, -1e5, 1e5);
  }
  q.finish();
  return st;
}

std::vector<step> read(params_reader& r, const scenario& s) {
  std::vector<step> out;
  r.items(
    "steps", "a list of steps", [&](params_reader& q) { out.push_back(read_step(q, s)); },
    "a list of {\"at\": \"30s\", \"action\": ...} steps");
  return out;
}

struct state {
  run_context_ptr ctx;
  std::vector<step> steps;
};

using actor_t = caf::stateful_actor<state>;
using step_atom = caf::atom_constant<caf::atom("step")>;
using due_atom = caf::atom_constant<caf::atom("stepdue")>;

/// Selectors of set_link and clog: none means every node.
const std::vector<std::string>& or_all(const std::vector<std::string>& sels) {
  static const std::vector<std::string> all{"all"};
  return sels.empty() ? all : sels;
}

/// One entry per selected node (or one without nodes), in topology order.
void signal_entries(actor_t* self, const step& st) {
  const auto& ctx = *self->state.ctx;
  const size_t n = st.nodes.empty() ? 1 : select_nodes(ctx, st.nodes).size();
  for (size_t i = 0; i < n; ++i)
    self->send(ctx.sync, sync_signal_atom::value, st.state);
}

void run_step(actor_t* self, const step& st) {
  const auto& ctx = *self->state.ctx;
  control_action ca;
  if (st.action == "signal") {
    signal_entries(self, st);
  } else if (st.action == "heal" && st.nodes.empty()) {
    heal_network(self, ctx);
  } else if (parse_control_action(st.action, ca)) {
    control_nodes(self, ctx, select_nodes(ctx, st.nodes), ca);
  } else if (st.action == "partition") {
    std::vector<std::vector<std::string>> sides;
    for (const auto& side : st.sides)
      sides.push_back(ids(select_nodes(ctx, side)));
    partition_nodes(self, ctx, sides, st.symmetric);
  } else if (st.action == "set_link") {
    link_cmd cmd = st.link;
    cmd.from = ids(select_nodes(ctx, or_all(st.from)));
    cmd.to = ids(select_nodes(ctx, or_all(st.to)));
    set_links(self, ctx, cmd);
  } else if (st.action == "clog") {
    clog_cmd cmd{ids(select_nodes(ctx, or_all(st.from))), ids(select_nodes(ctx, or_all(st.to))),
                 st.clog_for.count()};
    clog_links(self, ctx, cmd);
  } else if (st.action == "skew") {
    std::vector<clock_skew_cmd> cmds;
    for (const auto& n : select_nodes(ctx, st.nodes))
      cmds.push_back(clock_skew_cmd{n.id, st.offset.count(), st.drift_ppm});
    skew_clocks(self, ctx, cmds, "offset " + format_duration(st.offset));
  }
}

/// Each step as the fault it asks for, for the backend's capability query.
std::vector<fault_request> faults(params_reader& r, const scenario& s,
                                  const expanded_topology& topo) {
  std::vector<fault_request> out;
  auto steps = read(r, s);
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& st = steps[i];
    fault_request f;
    f.where = r.path_of("steps") + "[" + std::to_string(i) + "]";
    if (st.action == "signal")
      continue; // the sync service, not a control or fault: every backend has it
    f.when = st.when_count == 0 ? "at " + format_duration(st.at)
                                : "when \"" + st.when_signal + "\" has " +
                                    std::to_string(st.when_count) + " entries";
    f.action = st.action == "heal" && st.nodes.empty() ? "heal_all" : st.action;
    if (st.action == "partition") {
      for (const auto& side : st.sides)
        for (const auto& id : select_ids(topo, side))
          f.nodes.push_back(id);
      f.symmetric = st.symmetric;
    } else if (st.action == "set_link" || st.action == "clog") {
      f.nodes = select_ids(topo, or_all(st.from));
      for (const auto& id : select_ids(topo, or_all(st.to)))
        if (std::find(f.nodes.begin(), f.nodes.end(), id) == f.nodes.end())
          f.nodes.push_back(id);
      f.link = st.link;
    } else {
      f.nodes = select_ids(topo, st.nodes);
    }
    if (!f.action.empty())
      out.push_back(std::move(f));
  }
  return out;
}

caf::behavior behavior(actor_t* self, run_context_ptr ctx, kind_entry entry) {
  self->state.steps = read_validated(read, entry, *ctx->scenario);
  self->state.ctx = ctx;
  return {
    [=](start_atom) {
      for (size_t i = 0; i < self->state.steps.size(); ++i) {
        const auto& st = self->state.steps[i];
        if (st.when_count == 0) {
          self->delayed_send(self, st.at, step_atom::value, i);
          continue;
        }
        // Waits for ever on the sync service (a barrier that is never reached leaves the
        // step undone), then for its "at" if that is later.
        self
          ->request(self->state.ctx->sync, caf::infinite, sync_barrier_atom::value, st.when_signal,
                    st.when_count, int64_t{-1})
          .then([=](const sync_answer&) { self->send(self, due_atom::value, i); });
      }
    },
    [=](due_atom, size_t i) {
      if (i >= self->state.steps.size())
        return;
      const auto now = self->state.ctx->since_start(self->clock().now());
      const auto at = self->state.steps[i].at;
      if (at > now)
        self->delayed_send(self, at - now, step_atom::value, i);
      else
        run_step(self, self->state.steps[i]);
    },
    [=](stop_atom) { self->state.steps.clear(); },
    // The sync service's answers to this workload's own entries (their seq): nothing to do.
    [=](const sync_answer&) {},
    [=](step_atom, size_t i) {
      if (i < self->state.steps.size())
        run_step(self, self->state.steps[i]);
    },
  };
}

} // namespace steps_detail

actor_kind steps_kind() {
  auto k = make_actor_kind("steps", "a timed script of faults and repairs", steps_detail::read,
                           steps_detail::behavior);
  k.faults = steps_detail::faults;
  return k;
}

} // namespace troupe::workloads
