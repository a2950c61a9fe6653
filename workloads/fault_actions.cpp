#include "workloads/fault_actions.hpp"

#include <map>
#include <memory>
#include <optional>

#include "actors/units.hpp"

namespace troupe::workloads {

namespace {

using ack_handler = std::function<void(const control_ack&)>;

std::string no_ack_reason(const caf::error& err) {
  if (err == caf::sec::request_timeout)
    return "no acknowledgement within " + std::to_string(ack_timeout.count()) +
           " s, so the outcome is unknown";
  return "no acknowledgement (" + to_string(err) + ")";
}

/// Asks `to` and hands its ack (or an ok=false ack naming the error) to `done`.
template <class... Ts>
void ask(caf::event_based_actor* self, const caf::actor& to, ack_handler done, Ts&&... xs) {
  if (!to) {
    done({false, "the backend gives no handle that could apply it"});
    return;
  }
  self->request(to, ack_timeout, std::forward<Ts>(xs)...)
    .then([done](const control_ack& ack) { done(ack); },
          [done](caf::error& err) {
            done({false, no_ack_reason(err)});
          });
}

int64_t now_ns(caf::event_based_actor* self, const run_context& ctx) {
  return ctx.since_start(self->clock().now()).count();
}

/// One action sent to several nodes: once all answered, `finish` gets the acknowledged ids
/// (in the order given) and the refused ones grouped by reason.
struct gathering {
  std::vector<std::string> ids;
  std::vector<std::optional<control_ack>> acks;
  size_t pending = 0;
  std::function<void(std::vector<std::string> ok,
                     std::map<std::string, std::vector<std::string>> refused)>
    finish;

  void answer(size_t i, const control_ack& ack) {
    acks[i] = ack;
    if (--pending > 0)
      return;
    std::vector<std::string> ok;
    std::map<std::string, std::vector<std::string>> refused;
    for (size_t k = 0; k < ids.size(); ++k) {
      if (acks[k]->ok)
        ok.push_back(ids[k]);
      else
        refused[acks[k]->error.empty() ? "refused without a reason" : acks[k]->error].push_back(
          ids[k]);
    }
    finish(std::move(ok), std::move(refused));
  }
};

void report_refusals(caf::event_based_actor* self, const run_context& ctx,
                     const std::string& action,
                     const std::map<std::string, std::vector<std::string>>& refused) {
  for (const auto& [reason, nodes] : refused)
    report(self, ctx, "refusal", action, nodes, -1, reason);
}

std::vector<std::string> all_ids(const std::vector<std::vector<std::string>>& sides) {
  std::vector<std::string> out;
  for (const auto& side : sides)
    out.insert(out.end(), side.begin(), side.end());
  return out;
}

} // namespace

std::vector<std::string> ids(const std::vector<node_handle>& nodes) {
  std::vector<std::string> out;
  out.reserve(nodes.size());
  for (const auto& n : nodes)
    out.push_back(n.id);
  return out;
}

std::vector<node_handle> select_nodes(const run_context& ctx,
                                      const std::vector<std::string>& sels) {
  std::vector<node_handle> out;
  for (const auto& n : ctx.nodes)
    for (const auto& sel : sels)
      if (sel == "all" || sel == n.group || sel == n.id) {
        out.push_back(n);
        break;
      }
  return out;
}

std::vector<std::string> select_ids(const expanded_topology& topo,
                                    const std::vector<std::string>& selectors) {
  std::vector<std::string> out;
  for (const auto& n : topo.nodes)
    for (const auto& sel : selectors)
      if (sel == "all" || sel == n.group || sel == n.id) {
        out.push_back(n.id);
        break;
      }
  return out;
}

bool is_heal(control_action a) noexcept {
  return a == control_action::start || a == control_action::resume || a == control_action::heal;
}

void report(caf::event_based_actor* self, const run_context& ctx, const std::string& kind,
            const std::string& action, std::vector<std::string> nodes, int64_t until_ns,
            std::string detail) {
  report_at(self, ctx, now_ns(self, ctx), kind, action, std::move(nodes), until_ns,
            std::move(detail));
}

void report_at(caf::event_based_actor* self, const run_context& ctx, int64_t time_ns,
               const std::string& kind, const std::string& action, std::vector<std::string> nodes,
               int64_t until_ns, std::string detail) {
  run_event ev;
  ev.time_ns = time_ns;
  ev.kind = kind;
  ev.action = action;
  ev.nodes = std::move(nodes);
  ev.until_ns = until_ns;
  ev.detail = std::move(detail);
  self->send(ctx.runner, event_atom::value, std::move(ev));
}

void control_nodes(caf::event_based_actor* self, const run_context& ctx,
                   const std::vector<node_handle>& nodes, control_action action, int64_t until_ns) {
  if (nodes.empty())
    return;
  auto c = &ctx;
  auto g = std::make_shared<gathering>();
  g->ids = ids(nodes);
  g->acks.resize(nodes.size());
  g->pending = nodes.size();
  // The event is stamped with when the action was asked, not when it was acknowledged: a live
  // restart takes seconds (stop, respawn, readiness), and its window is all of that time.
  const int64_t asked_ns = now_ns(self, ctx);
  g->finish = [self, c, action, until_ns,
               asked_ns](std::vector<std::string> ok,
                         std::map<std::string, std::vector<std::string>> refused) {
    report_refusals(self, *c, to_string(action), refused);
    if (ok.empty())
      return;
    // A restart is a fault and its heal in one: its window ends when the node is back.
    report_at(self, *c, asked_ns, is_heal(action) ? "heal" : "fault", to_string(action),
              std::move(ok), action == control_action::restart ? now_ns(self, *c) : until_ns);
  };
  for (size_t i = 0; i < nodes.size(); ++i)
    ask(
      self, nodes[i].actor, [g, i](const control_ack& ack) { g->answer(i, ack); },
      control_atom::value, action);
}

void partition_nodes(caf::event_based_actor* self, const run_context& ctx,
                     const std::vector<std::vector<std::string>>& sides, bool symmetric,
                     int64_t until_ns) {
  partition_cmd cmd{sides, symmetric};
  std::string action = symmetric ? "partition" : "partition (one-way)";
  std::string detail;
  for (size_t i = 0; i < sides.size(); ++i)
    detail += (i ? " | " : "") + std::to_string(sides[i].size()) + " nodes";
  auto c = &ctx;
  ask(
    self, ctx.fabric,
    [=](const control_ack& ack) {
      // The nodes side by side, the detail each side's size: the report holds the cut as it
      // was made, so `troupe shrink` can replay it as a step.
      if (ack.ok)
        report(self, *c, "fault", action, all_ids(sides), until_ns, detail);
      else
        report(self, *c, "refusal", action, all_ids(sides), -1, ack.error);
    },
    partition_atom::value, cmd);
}

void heal_network(caf::event_based_actor* self, const run_context& ctx) {
  auto c = &ctx;
  ask(
    self, ctx.fabric,
    [=](const control_ack& ack) {
      if (ack.ok)
        report(self, *c, "heal", "heal", {});
      else
        report(self, *c, "refusal", "heal", {}, -1, ack.error);
    },
    heal_atom::value);
}

void set_links(caf::event_based_actor* self, const run_context& ctx, const link_cmd& cmd) {
  std::string detail;
  auto add = [&](const std::string& part) { detail += (detail.empty() ? "" : ", ") + part; };
  if (cmd.latency_ns >= 0)
    add("latency " + format_duration(duration{cmd.latency_ns}));
  if (cmd.jitter_ns >= 0)
    add("jitter " + format_duration(duration{cmd.jitter_ns}));
  if (cmd.loss >= 0)
    add("loss " + std::to_string(cmd.loss));
  if (cmd.bandwidth_bps >= 0)
    add("bandwidth " + std::to_string(cmd.bandwidth_bps) + " bit/s");
  auto c = &ctx;
  auto nodes = cmd.from;
  for (const auto& t : cmd.to)
    if (std::find(nodes.begin(), nodes.end(), t) == nodes.end())
      nodes.push_back(t);
  ask(
    self, ctx.fabric,
    [=](const control_ack& ack) {
      if (ack.ok)
        report(self, *c, "fault", "set_link", {}, -1, detail);
      else
        report(self, *c, "refusal", "set_link", nodes, -1, ack.error);
    },
    set_link_atom::value, cmd);
}

void clog_links(caf::event_based_actor* self, const run_context& ctx, const clog_cmd& cmd) {
  auto c = &ctx;
  auto nodes = cmd.from;
  for (const auto& t : cmd.to)
    if (std::find(nodes.begin(), nodes.end(), t) == nodes.end())
      nodes.push_back(t);
  auto detail = std::to_string(cmd.from.size()) + " <-> " + std::to_string(cmd.to.size()) +
                " nodes for " + format_duration(duration{cmd.duration_ns});
  ask(
    self, ctx.fabric,
    [=](const control_ack& ack) {
      if (ack.ok)
        report(self, *c, "fault", "clog", {}, now_ns(self, *c) + cmd.duration_ns, detail);
      else
        report(self, *c, "refusal", "clog", nodes, -1, ack.error);
    },
    clog_atom::value, cmd);
}

void skew_clocks(caf::event_based_actor* self, const run_context& ctx,
                 const std::vector<clock_skew_cmd>& cmds, const std::string& detail) {
  if (cmds.empty())
    return;
  auto c = &ctx;
  auto g = std::make_shared<gathering>();
  for (const auto& cmd : cmds)
    g->ids.push_back(cmd.node);
  g->acks.resize(cmds.size());
  g->pending = cmds.size();
  g->finish = [self, c, detail](std::vector<std::string> ok,
                                std::map<std::string, std::vector<std::string>> refused) {
    report_refusals(self, *c, "clock_skew", refused);
    if (!ok.empty())
      report(self, *c, "fault", "clock_skew", std::move(ok), -1, detail);
  };
  for (size_t i = 0; i < cmds.size(); ++i)
    ask(
      self, ctx.fabric, [g, i](const control_ack& ack) { g->answer(i, ack); }, skew_atom::value,
      cmds[i]);
}

} // namespace troupe::workloads
