#include "workloads/commands.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/node_command.hpp"
#include "actors/run_context.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "actors/sync_actor.hpp"
#include "actors/units.hpp"
#include "workloads/fault_actions.hpp"

namespace troupe::workloads {

namespace commands_detail {

struct command_step {
  std::string name;
  std::vector<std::string> nodes; ///< selectors
  std::string run;
  duration at{};
  duration timeout = std::chrono::seconds(60);
  std::string when_signal;
  uint64_t when_count = 0;
  std::string signal; ///< entered once per node whose command exited 0
};

struct commands_params {
  std::vector<command_step> commands;
  uint32_t tail_lines = 20;
};

command_step read_step(params_reader& q, const scenario& s, size_t i) {
  command_step c;
  c.name = q.string("name", "command-" + std::to_string(i));
  c.nodes = q.selectors("nodes");
  if (c.nodes.empty())
    c.nodes = {"all"};
  for (const auto& n : c.nodes)
    check_selector(q, "nodes", n, s);
  c.run = q.string("run", "", true);
  c.at = q.dur("at", {});
  c.timeout = q.dur("timeout", c.timeout, std::chrono::milliseconds(1));
  q.section("when", [&](params_reader& w) {
    c.when_signal = w.string("signal", "", true);
    c.when_count = static_cast<uint64_t>(w.integer("count", 1, 1, 1'000'000'000, true));
    w.finish();
  });
  c.signal = q.string("signal", "");
  q.finish();
  return c;
}

commands_params read(params_reader& r, const scenario& s) {
  commands_params p;
  r.items(
    "commands", "a list of commands",
    [&](params_reader& q) { p.commands.push_back(read_step(q, s, p.commands.size())); },
    "a list of {\"nodes\": ..., \"run\": \"...\"}");
  p.tail_lines = static_cast<uint32_t>(r.integer("tail_lines", 20, 1, 1000));
  return p;
}

struct state {
  run_context_ptr ctx;
  commands_params p;
};

using actor_t = caf::stateful_actor<state>;
using due_atom = caf::atom_constant<caf::atom("cmddue")>;
using run_atom = caf::atom_constant<caf::atom("cmdrun")>;

void record(actor_t* self, const command_step& c, const node_handle& n, const command_result& r) {
  const auto& ctx = *self->state.ctx;
  if (!r.ran) {
    report(self, ctx, "refusal", "command " + c.name, {n.id}, -1, r.status);
    return;
  }
  nlohmann::json d{{"name", c.name},           {"node", n.id},       {"command", r.command},
                   {"exit_code", r.exit_code}, {"status", r.status}, {"timed_out", r.timed_out},
                   {"seconds", r.seconds},     {"tail", r.tail}};
  report(self, ctx, "command", c.name, {n.id}, -1, d.dump());
  if (!c.signal.empty() && r.exit_code == 0)
    self->send(ctx.sync, sync_signal_atom::value, c.signal);
}

void run_everywhere(actor_t* self, size_t i) {
  const auto& ctx = *self->state.ctx;
  const auto& c = self->state.p.commands[i];
  command_request req;
  req.command = c.run;
  req.timeout_ms = std::chrono::duration_cast<std::chrono::milliseconds>(c.timeout).count();
  req.tail_lines = self->state.p.tail_lines;
  if (!ctx.sync_url.empty())
    req.env["TROUPE_SYNC_URL"] = ctx.sync_url;
  for (const auto& n : select_nodes(ctx, c.nodes))
    self->request(n.actor, c.timeout + std::chrono::seconds(60), run_command_atom::value, req)
      .then([=](const command_result& r) { record(self, self->state.p.commands[i], n, r); },
            [=](const caf::error& e) {
              command_result r;
              r.status = n.id + " cannot run commands (" + to_string(e) + ")";
              record(self, self->state.p.commands[i], n, r);
            });
}

caf::behavior behavior(actor_t* self, run_context_ptr ctx, kind_entry entry) {
  self->state.p = read_validated(read, entry, *ctx->scenario);
  self->state.ctx = ctx;
  return {
    [=](start_atom) {
      auto& st = self->state;
      for (size_t i = 0; i < st.p.commands.size(); ++i) {
        const auto& c = st.p.commands[i];
        if (st.ctx->virtual_time) {
          // Nothing runs in a simulated world: say so instead of pretending.
          report(self, *st.ctx, "refusal", "command " + c.name, ids(select_nodes(*st.ctx, c.nodes)),
                 -1,
                 "node-side commands run on the hosts of real nodes; the sim backend "
                 "runs none (its models declare no equivalent): run on a live backend");
          continue;
        }
        if (c.when_count == 0) {
          self->delayed_send(self, c.at, run_atom::value, i);
          continue;
        }
        self
          ->request(st.ctx->sync, caf::infinite, sync_barrier_atom::value, c.when_signal,
                    c.when_count, int64_t{-1})
          .then([=](const sync_answer&) { self->send(self, due_atom::value, i); });
      }
    },
    [=](due_atom, size_t i) {
      const auto now = self->state.ctx->since_start(self->clock().now());
      const auto at = self->state.p.commands[i].at;
      if (at > now)
        self->delayed_send(self, at - now, run_atom::value, i);
      else
        run_everywhere(self, i);
    },
    [=](run_atom, size_t i) { run_everywhere(self, i); },
    [=](stop_atom) {},
    // The sync service's answers to this workload's own entries (their seq): nothing to do.
    [=](const sync_answer&) {},
  };
}

} // namespace commands_detail

actor_kind commands_kind() {
  return make_actor_kind("commands", "node-side commands on the nodes' hosts, ordered by sync",
                         commands_detail::read, commands_detail::behavior);
}

} // namespace troupe::workloads
