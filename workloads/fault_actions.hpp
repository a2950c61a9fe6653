#pragma once
// Applying faults through the node protocol and telling the runner about them: shared by
// the `chaos` and `steps` workloads, so both report fault windows the same way.
//
// Every control and fault waits for its acknowledgement (Jepsen's rule: the history says
// what was attempted and what happened, never one for the other). Only an ack with ok=true
// becomes a "fault" (or "heal") event, stamped with the time the ack arrived; an ack with
// ok=false, an error or no ack within `ack_timeout` becomes a "refusal" event with the
// reason, which the report lists on its own and never shades as a fault window.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/run_context.hpp"

namespace troupe::workloads {

/// How long a workload waits for an acknowledgement: longer than any control takes live (a
/// restart waits for the program's stop grace and then its readiness probe).
constexpr std::chrono::seconds ack_timeout{300};

/// Sends `control(action)` to each node. Once every node answered: one fault (or heal) event
/// for the nodes that acknowledged, one refusal per distinct reason for the others.
/// `until` (run time, -1 = open) marks when the fault is planned to end.
void control_nodes(caf::event_based_actor* self, const run_context& ctx,
                   const std::vector<node_handle>& nodes, control_action action,
                   int64_t until_ns = -1);

/// Cuts traffic between sides (each a list of node ids) through the fabric. The fault event
/// lists the sides' nodes one side after the other, its detail each side's size ("3 nodes |
/// 7 nodes").
void partition_nodes(caf::event_based_actor* self, const run_context& ctx,
                     const std::vector<std::vector<std::string>>& sides, bool symmetric,
                     int64_t until_ns = -1);

/// Heals every partition and clog through the fabric.
void heal_network(caf::event_based_actor* self, const run_context& ctx);

/// Changes link properties through the fabric.
void set_links(caf::event_based_actor* self, const run_context& ctx, const link_cmd& cmd);

/// Holds traffic between cmd.from and cmd.to for cmd.duration_ns through the fabric.
void clog_links(caf::event_based_actor* self, const run_context& ctx, const clog_cmd& cmd);

/// Skews the clocks of the nodes named in `cmds` (one per node) through the fabric; one fault
/// event for those acknowledged, with `detail`.
void skew_clocks(caf::event_based_actor* self, const run_context& ctx,
                 const std::vector<clock_skew_cmd>& cmds, const std::string& detail);

/// Reports one event to the runner, stamped with the actor clock's run time.
void report(caf::event_based_actor* self, const run_context& ctx, const std::string& kind,
            const std::string& action, std::vector<std::string> nodes, int64_t until_ns = -1,
            std::string detail = "");

/// Reports one event to the runner stamped with `time_ns` (run time): for an action whose
/// acknowledgement comes later than it took effect.
void report_at(caf::event_based_actor* self, const run_context& ctx, int64_t time_ns,
               const std::string& kind, const std::string& action, std::vector<std::string> nodes,
               int64_t until_ns = -1, std::string detail = "");

/// Whether an action takes a node out (a fault) or brings it back (a heal).
bool is_heal(control_action a) noexcept;

std::vector<std::string> ids(const std::vector<node_handle>& nodes);

/// The run's nodes named by `selectors` (node ids, groups, "all"), in topology order.
std::vector<node_handle> select_nodes(const run_context& ctx,
                                      const std::vector<std::string>& selectors);

/// The ids of the topology's nodes named by `selectors` (node ids, groups, "all"), in
/// topology order: what a workload's faults() listing reports before any run.
std::vector<std::string> select_ids(const expanded_topology& topo,
                                    const std::vector<std::string>& selectors);

} // namespace troupe::workloads
