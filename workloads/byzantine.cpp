#include "workloads/byzantine.hpp"

#include <map>
#include <memory>

#include <caf/all.hpp>

#include "actors/node_protocol.hpp"
#include "actors/run_context.hpp"
#include "actors/scenario/scenario_json.hpp"
#include "actors/units.hpp"
#include "workloads/fault_actions.hpp"

namespace troupe::workloads {

namespace byzantine_detail {

struct config {
  std::vector<std::string> nodes; ///< selectors
  duration at{};
  byzantine_cmd cmd;
};

config read(params_reader& r, const scenario& s) {
  config c;
  c.nodes = r.selectors("nodes");
  if (c.nodes.empty())
    r.error("nodes", "is required: the Byzantine validators (a group name, a node id or a list "
                     "of them)");
  r.describe_rule({{"required", {"nodes", "behaviour"}}});
  for (const auto& n : c.nodes)
    check_selector(r, "nodes", n, s);
  c.cmd.behaviour = r.one_of("behaviour", {"equivocate", "withhold", "invalid", "twin"}, "", true);
  c.at = r.dur("at", duration::zero());
  if (c.at > s.run_duration)
    r.error("at", "is after the end of the run (" + format_duration(s.run_duration) +
                    "); the nodes would never turn");
  if (c.cmd.behaviour == "invalid")
    c.cmd.invalid = r.one_of("invalid", {"bad_parent", "oversized", "bad_tx"}, "bad_parent");
  if (c.cmd.behaviour == "twin") {
    c.cmd.twin_of = r.string("twin_of", "", true);
    if (!c.cmd.twin_of.empty())
      check_selector(r, "twin_of", c.cmd.twin_of, s);
  }
  if (c.cmd.behaviour.empty())
    r.allow({"invalid", "twin_of"}); // the behaviour is wrong (reported): keys cannot be judged
  return c;
}

std::string describe(const byzantine_cmd& c) {
  if (c.behaviour == "invalid")
    return "invalid blocks (" + c.invalid + ")";
  if (c.behaviour == "twin")
    return "twin of " + c.twin_of;
  return c.behaviour;
}

/// The fault the entry asks for, for the backend's capability query.
std::vector<fault_request> faults(params_reader& r, const scenario& s,
                                  const expanded_topology& topo) {
  auto c = read(r, s);
  fault_request f;
  f.where = r.path();
  f.when = "at " + format_duration(c.at);
  f.action = "byzantine";
  f.nodes = select_ids(topo, c.nodes);
  return {f};
}

struct state {
  run_context_ptr ctx;
  config cfg;
};

using actor_t = caf::stateful_actor<state>;
using turn_atom = caf::atom_constant<caf::atom("turn")>;

/// Sends the command to every chosen node; once all answered, one fault event for those
/// that took it and one refusal per distinct reason for the others.
void turn(actor_t* self) {
  const auto& ctx = *self->state.ctx;
  std::vector<node_handle> nodes;
  for (const auto& n : ctx.nodes)
    for (const auto& sel : self->state.cfg.nodes)
      if (sel == "all" || sel == n.group || sel == n.id) {
        nodes.push_back(n);
        break;
      }
  if (nodes.empty())
    return;
  struct pending {
    std::vector<std::string> ids;
    std::vector<control_ack> acks;
    size_t left = 0;
  };
  auto p = std::make_shared<pending>();
  p->ids = ids(nodes);
  p->acks.resize(nodes.size());
  p->left = nodes.size();
  const std::string action = "byzantine";
  const std::string detail = describe(self->state.cfg.cmd);
  auto answer = [self, p, action, detail](size_t i, control_ack ack) {
    p->acks[i] = std::move(ack);
    if (--p->left > 0)
      return;
    std::vector<std::string> ok;
    std::map<std::string, std::vector<std::string>> refused;
    for (size_t k = 0; k < p->ids.size(); ++k)
      if (p->acks[k].ok)
        ok.push_back(p->ids[k]);
      else
        refused[p->acks[k].error.empty() ? "refused without a reason" : p->acks[k].error].push_back(
          p->ids[k]);
    const auto& c = *self->state.ctx;
    if (!ok.empty())
      report(self, c, "fault", action, ok, -1, detail);
    for (const auto& [reason, who] : refused)
      report(self, c, "refusal", action, who, -1, reason);
  };
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!nodes[i].actor) {
      answer(i, {false, "the backend gives no handle that could apply it"});
      continue;
    }
    self->request(nodes[i].actor, ack_timeout, byzantine_atom::value, self->state.cfg.cmd)
      .then([answer, i](const control_ack& ack) { answer(i, ack); },
            [answer, i](caf::error& err) {
              answer(i, {false, "no acknowledgement (" + to_string(err) + ")"});
            });
  }
}

caf::behavior behavior(actor_t* self, run_context_ptr ctx, kind_entry entry) {
  self->state.cfg = read_validated(read, entry, *ctx->scenario);
  self->state.ctx = ctx;
  return {
    [=](start_atom) { self->delayed_send(self, self->state.cfg.at, turn_atom::value); },
    [=](stop_atom) { self->state.cfg.nodes.clear(); },
    [=](turn_atom) { turn(self); },
  };
}

} // namespace byzantine_detail

actor_kind byzantine_kind() {
  auto k = make_actor_kind("byzantine",
                           "Byzantine validators: equivocation, withholding, invalid blocks, twins",
                           byzantine_detail::read, byzantine_detail::behavior);
  k.faults = byzantine_detail::faults;
  return k;
}

} // namespace troupe::workloads
