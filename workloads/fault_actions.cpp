#include "workloads/fault_actions.hpp"

namespace troupe::workloads {

std::vector<std::string> ids(const std::vector<node_handle>& nodes) {
  std::vector<std::string> out;
  out.reserve(nodes.size());
  for (const auto& n : nodes)
    out.push_back(n.id);
  return out;
}

bool is_heal(control_action a) noexcept {
  return a == control_action::start || a == control_action::resume || a == control_action::heal;
}

void report(caf::event_based_actor* self, const run_context& ctx, const std::string& kind,
            const std::string& action, std::vector<std::string> nodes, int64_t until_ns,
            std::string detail) {
  run_event ev;
  ev.time_ns = ctx.since_start(self->clock().now()).count();
  ev.kind = kind;
  ev.action = action;
  ev.nodes = std::move(nodes);
  ev.until_ns = until_ns;
  ev.detail = std::move(detail);
  self->send(ctx.runner, event_atom::value, std::move(ev));
}

void control_nodes(caf::event_based_actor* self, const run_context& ctx,
                   const std::vector<node_handle>& nodes, control_action action, int64_t until_ns) {
  for (const auto& n : nodes) {
    // A refused control (e.g. a backend that cannot pause) is evidence, not a crash: it goes
    // into the report as the fault's detail.
    auto runner_ctx = &ctx;
    self->request(n.actor, std::chrono::seconds(60), control_atom::value, action)
      .then(
        [=](const control_ack& ack) {
          if (!ack.ok)
            report(self, *runner_ctx, "error", to_string(action), {n.id}, -1, ack.error);
        },
        [=](caf::error& err) {
          report(self, *runner_ctx, "error", to_string(action), {n.id}, -1, to_string(err));
        });
  }
  // restart is instantaneous: a fault and its heal at once.
  report(self, ctx, is_heal(action) ? "heal" : "fault", to_string(action), ids(nodes),
         action == control_action::restart ? ctx.since_start(self->clock().now()).count()
                                           : until_ns);
}

void partition_nodes(caf::event_based_actor* self, const run_context& ctx,
                     const std::vector<std::vector<std::string>>& sides, bool symmetric,
                     int64_t until_ns) {
  partition_cmd cmd{sides, symmetric};
  auto c = &ctx;
  self->request(ctx.fabric, std::chrono::seconds(60), partition_atom::value, cmd)
    .then(
      [=](const control_ack& ack) {
        if (!ack.ok)
          report(self, *c, "error", "partition", {}, -1, ack.error);
      },
      [=](caf::error& err) { report(self, *c, "error", "partition", {}, -1, to_string(err)); });
  std::string detail;
  for (size_t i = 0; i < sides.size(); ++i) {
    detail += (i ? " | " : "") + std::to_string(sides[i].size()) + " nodes";
  }
  report(self, ctx, "fault", symmetric ? "partition" : "partition (one-way)", {}, until_ns, detail);
}

void heal_network(caf::event_based_actor* self, const run_context& ctx) {
  auto c = &ctx;
  self->request(ctx.fabric, std::chrono::seconds(60), heal_atom::value)
    .then(
      [=](const control_ack& ack) {
        if (!ack.ok)
          report(self, *c, "error", "heal", {}, -1, ack.error);
      },
      [=](caf::error& err) { report(self, *c, "error", "heal", {}, -1, to_string(err)); });
  report(self, ctx, "heal", "heal", {});
}

} // namespace troupe::workloads
