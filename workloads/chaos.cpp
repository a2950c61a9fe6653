#include "workloads/chaos.hpp"

#include <algorithm>
#include <map>

#include <caf/all.hpp>

#include "actors/random.hpp"
#include "actors/run_context.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "actors/scenario/vary.hpp"
#include "workloads/fault_actions.hpp"

namespace troupe::workloads {

namespace chaos_detail {

using namespace std::chrono_literals;

struct restarts_params {
  bool on = false;
  std::string targets = "all";
  duration delay_min = 20s, delay_max = 60s, downtime = 10s, cooldown = 60s;
  uint32_t max_down = 1;
};

struct partitions_params {
  bool on = false;
  double split = 0.5;
  duration delay_min = 60s, delay_max = 120s, duration_min = 10s, duration_max = 30s;
};

struct skew_params {
  bool on = false;
  std::string targets = "all";
  duration offset_max = 500ms;
  double drift_ppm_max = 0;
};

struct params {
  restarts_params restarts;
  partitions_params partitions;
  skew_params skew;
  duration start_after{};
  duration stop_before{};
};

void check_range(params_reader& r, const char* lo_key, duration lo, const char* hi_key,
                 duration hi) {
  if (hi < lo)
    r.error(hi_key, std::string("must be >= ") + lo_key);
}

params read(params_reader& r, const scenario& s) {
  params p;
  r.section("restarts", [&](params_reader& q) {
    auto& x = p.restarts;
    x.on = true;
    x.targets = q.string("targets", x.targets);
    check_selector(q, "targets", x.targets, s);
    x.delay_min = q.dur("delay_min", x.delay_min, 1ms);
    x.delay_max = q.dur("delay_max", x.delay_max, 1ms);
    check_range(q, "delay_min", x.delay_min, "delay_max", x.delay_max);
    x.downtime = q.dur("downtime", x.downtime);
    x.cooldown = q.dur("cooldown", x.cooldown);
    x.max_down = static_cast<uint32_t>(q.integer("max_down", x.max_down, 1, 1'000'000));
    q.finish();
  });
  r.section("partitions", [&](params_reader& q) {
    auto& x = p.partitions;
    x.on = true;
    x.split = q.number("split", x.split, 0.01, 0.99);
    x.delay_min = q.dur("delay_min", x.delay_min, 1ms);
    x.delay_max = q.dur("delay_max", x.delay_max, 1ms);
    check_range(q, "delay_min", x.delay_min, "delay_max", x.delay_max);
    x.duration_min = q.dur("duration_min", x.duration_min, 1ms);
    x.duration_max = q.dur("duration_max", x.duration_max, 1ms);
    check_range(q, "duration_min", x.duration_min, "duration_max", x.duration_max);
    q.finish();
  });
  r.section("clock_skew", [&](params_reader& q) {
    auto& x = p.skew;
    x.on = true;
    x.targets = q.string("targets", x.targets);
    check_selector(q, "targets", x.targets, s);
    x.offset_max = q.dur("offset_max", x.offset_max);
    x.drift_ppm_max = q.number("drift_ppm_max", x.drift_ppm_max, 0, 1e5);
    q.finish();
  });
  p.start_after = r.dur("start_after", p.start_after);
  p.stop_before = r.dur("stop_before", p.stop_before);
  // Ranges a swarm's --vary draws from the seed (actors/scenario/vary.hpp).
  read_vary(r, {{"restarts.delay_min"},
                {"restarts.delay_max"},
                {"restarts.downtime"},
                {"restarts.cooldown"},
                {"restarts.max_down", false, 1, 1'000'000},
                {"partitions.split", false, 0.01, 0.99},
                {"partitions.delay_min"},
                {"partitions.delay_max"},
                {"partitions.duration_min"},
                {"partitions.duration_max"},
                {"clock_skew.offset_max"},
                {"clock_skew.drift_ppm_max", false, 0, 1e5}});
  if (!p.restarts.on && !p.partitions.on && !p.skew.on)
    r.errors().push_back({r.path(), "chaos needs at least one of \"restarts\", "
                                    "\"partitions\" or \"clock_skew\""});
  r.describe_rule({{"anyOf",
                    {{{"required", {"restarts"}}},
                     {{"required", {"partitions"}}},
                     {{"required", {"clock_skew"}}}}}});
  return p;
}

struct state {
  run_context_ptr ctx;
  params p;
  troupe::rng gen;
  std::vector<node_handle> restart_targets;
  std::map<std::string, caf::actor_clock::time_point> last_restart; ///< by id: cooldown
  uint32_t down = 0;
  bool running = false;
  caf::actor_clock::time_point quiet_from{};
};

using actor_t = caf::stateful_actor<state>;

using restart_atom = caf::atom_constant<caf::atom("restart")>;
using restore_atom = caf::atom_constant<caf::atom("restore")>;
using split_atom = caf::atom_constant<caf::atom("split")>;
using join_atom = caf::atom_constant<caf::atom("join")>;

duration pick(troupe::rng& g, duration lo, duration hi) {
  return duration{g.between(lo.count(), hi.count())};
}

caf::behavior behavior(actor_t* self, run_context_ptr ctx, kind_entry entry) {
  auto& st = self->state;
  st.p = read_validated(read, entry, *ctx->scenario);
  st.ctx = ctx;
  st.gen = rng::stream(ctx->seed, "workload/" + entry.name);
  st.restart_targets = ctx->select(st.p.restarts.targets);
  auto now_ns = [self] { return self->state.ctx->since_start(self->clock().now()).count(); };
  auto active = [self] {
    return self->state.running && self->clock().now() < self->state.quiet_from;
  };
  return {
    [=](start_atom) {
      auto& st = self->state;
      st.running = true;
      st.quiet_from = st.ctx->origin + st.ctx->run_duration - st.p.stop_before;
      if (st.p.restarts.on)
        self->delayed_send(
          self, st.p.start_after + pick(st.gen, st.p.restarts.delay_min, st.p.restarts.delay_max),
          restart_atom::value);
      if (st.p.partitions.on)
        self->delayed_send(self,
                           st.p.start_after +
                             pick(st.gen, st.p.partitions.delay_min, st.p.partitions.delay_max),
                           split_atom::value);
      if (st.p.skew.on) {
        std::vector<clock_skew_cmd> cmds;
        for (const auto& n : st.ctx->select(st.p.skew.targets)) {
          clock_skew_cmd cmd;
          cmd.node = n.id;
          auto max = st.p.skew.offset_max.count();
          cmd.offset_ns = max > 0 ? st.gen.between(-max, max) : 0;
          cmd.drift_ppm = (st.gen.uniform01() * 2 - 1) * st.p.skew.drift_ppm_max;
          cmds.push_back(cmd);
        }
        skew_clocks(self, *st.ctx, cmds,
                    "offset up to " + std::to_string(st.p.skew.offset_max.count() / 1000000) +
                      " ms");
      }
    },
    [=](stop_atom) { self->state.running = false; },
    [=](restart_atom) {
      auto& st = self->state;
      if (!active())
        return;
      auto& x = st.p.restarts;
      self->delayed_send(self, pick(st.gen, x.delay_min, x.delay_max), restart_atom::value);
      if (st.down >= x.max_down)
        return;
      // Candidates in topology order; the seeded stream picks one: deterministic.
      std::vector<const node_handle*> candidates;
      for (const auto& n : st.restart_targets) {
        auto it = st.last_restart.find(n.id);
        if (it == st.last_restart.end() || self->clock().now() - it->second >= x.cooldown)
          candidates.push_back(&n);
      }
      if (candidates.empty())
        return;
      const node_handle& n = *candidates[st.gen.below(candidates.size())];
      st.last_restart[n.id] = self->clock().now();
      ++st.down;
      control_nodes(self, *st.ctx, {n}, control_action::kill, now_ns() + x.downtime.count());
      self->delayed_send(self, x.downtime, restore_atom::value, n.id);
    },
    [=](restore_atom, const std::string& id) {
      auto& st = self->state;
      --st.down;
      // Always bring a node back, even after stop: the run ends with every node restored.
      control_nodes(self, *st.ctx, st.ctx->select(id), control_action::start);
    },
    [=](split_atom) {
      auto& st = self->state;
      if (!active())
        return;
      auto& x = st.p.partitions;
      std::vector<std::string> all = ids(st.ctx->nodes);
      for (size_t i = all.size(); i > 1; --i)
        std::swap(all[i - 1], all[st.gen.below(i)]);
      size_t cut = std::max<size_t>(1, static_cast<size_t>(x.split * all.size()));
      cut = std::min(cut, all.size() - 1);
      std::vector<std::vector<std::string>> sides{{all.begin(), all.begin() + cut},
                                                  {all.begin() + cut, all.end()}};
      for (auto& side : sides)
        std::sort(side.begin(), side.end());
      auto length = pick(st.gen, x.duration_min, x.duration_max);
      partition_nodes(self, *st.ctx, sides, true, now_ns() + length.count());
      self->delayed_send(self, length, join_atom::value);
    },
    [=](join_atom) {
      auto& st = self->state;
      heal_network(self, *st.ctx);
      if (active())
        self->delayed_send(self, pick(st.gen, st.p.partitions.delay_min, st.p.partitions.delay_max),
                           split_atom::value);
    },
  };
}

/// What the schedule may ask for, for the backend's capability query.
std::vector<fault_request> faults(params_reader& r, const scenario& s,
                                  const expanded_topology& topo) {
  std::vector<fault_request> out;
  auto p = read(r, s);
  auto item = [&](const char* key, const char* action, std::vector<std::string> nodes) {
    fault_request f;
    f.where = r.path_of(key);
    f.when = "random times";
    f.action = action;
    f.nodes = std::move(nodes);
    out.push_back(std::move(f));
  };
  if (p.restarts.on) {
    auto targets = select_ids(topo, {p.restarts.targets});
    item("restarts", "kill", targets);
    item("restarts", "start", targets);
  }
  if (p.partitions.on) {
    item("partitions", "partition", select_ids(topo, {"all"}));
    item("partitions", "heal_all", {});
  }
  if (p.skew.on)
    item("clock_skew", "skew", select_ids(topo, {p.skew.targets}));
  return out;
}

} // namespace chaos_detail

actor_kind chaos_kind() {
  auto k =
    make_actor_kind("chaos", "random restarts, partitions and clock skew on a seeded schedule",
                    chaos_detail::read, chaos_detail::behavior);
  k.faults = chaos_detail::faults;
  return k;
}

} // namespace troupe::workloads
