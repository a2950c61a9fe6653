#pragma once
// Applying faults through the node protocol and telling the runner about them: shared by
// the `chaos` and `steps` workloads, so both report fault windows the same way.

#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/run_context.hpp"

namespace troupe::workloads {

/// Sends `control(action)` to each node and reports the fault (or heal) to the runner.
/// `until` (run time, -1 = open) marks when the fault is planned to end.
void control_nodes(caf::event_based_actor* self, const run_context& ctx,
                   const std::vector<node_handle>& nodes, control_action action,
                   int64_t until_ns = -1);

/// Cuts traffic between sides (each a list of node ids) through the fabric; reports it.
void partition_nodes(caf::event_based_actor* self, const run_context& ctx,
                     const std::vector<std::vector<std::string>>& sides, bool symmetric,
                     int64_t until_ns = -1);

/// Heals every partition and clog through the fabric; reports it.
void heal_network(caf::event_based_actor* self, const run_context& ctx);

/// Reports one event to the runner, stamped with the actor clock's run time.
void report(caf::event_based_actor* self, const run_context& ctx, const std::string& kind,
            const std::string& action, std::vector<std::string> nodes, int64_t until_ns = -1,
            std::string detail = "");

/// Whether an action takes a node out (a fault) or brings it back (a heal).
bool is_heal(control_action a) noexcept;

std::vector<std::string> ids(const std::vector<node_handle>& nodes);

} // namespace troupe::workloads
