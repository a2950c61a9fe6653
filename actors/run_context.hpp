#pragma once
// What workloads and expectations get to work with during a run, and the messages the runner
// exchanges with them. They never learn which world they run in.
//
// Runner -> workload:     (start_atom)   begin driving; (stop_atom) stop driving
// Workload -> runner:     (event_atom, run_event)   faults applied/healed, txs submitted
// Runner -> expectation:  (start_atom)   begin observing (subscribe to nodes, ...)
//                         (event_atom, run_event)   every event the workloads reported
//                         (evaluate_atom) -> verdict   after the run stopped

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/backend.hpp"
#include "actors/live_snapshot.hpp"
#include "actors/node_protocol.hpp"
#include "actors/params.hpp"
#include "actors/registry.hpp"
#include "actors/scenario/scenario.hpp"
#include "actors/scenario/topology.hpp"

namespace troupe {

using start_atom = caf::atom_constant<caf::atom("start")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using event_atom = caf::atom_constant<caf::atom("event")>;
using evaluate_atom = caf::atom_constant<caf::atom("evaluate")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;

/// Something that happened to the run, reported by a workload.
struct run_event {
  int64_t time_ns = 0; ///< run time of the event
  /// "fault" | "heal" (acknowledged by the backend) | "refusal" (not applied: `detail` is the
  /// reason) | "tx" | "jobs"
  std::string kind;
  std::string action;             ///< fault: restart, partition, pause, ...; tx: "submitted"
  std::vector<std::string> nodes; ///< nodes concerned (tx: the node it was sent to)
  int64_t until_ns = -1;          ///< fault: when it is planned to end (-1: open / unknown)
  std::string detail;             ///< fault: free text; tx: the transaction id
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, run_event& x) {
  return f(caf::meta::type_name("run_event"), x.time_ns, x.kind, x.action, x.nodes, x.until_ns,
           x.detail);
}

/// An expectation's answer.
struct verdict {
  std::string name;
  std::string kind;
  bool pass = false;
  std::string summary;  ///< one line for the console: the evidence in brief
  std::string evidence; ///< JSON object text with the details
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, verdict& x) {
  return f(caf::meta::type_name("verdict"), x.name, x.kind, x.pass, x.summary, x.evidence);
}

struct run_context {
  const troupe::scenario* scenario = nullptr;
  const expanded_topology* topology = nullptr;
  std::vector<node_handle> nodes;
  caf::actor fabric;
  /// Folds a workload's own events into the run's digest (sim; null on live backends).
  run_trace_ptr trace;
  caf::actor runner;
  /// The run's sync service (actors/sync_actor.hpp): barriers, signals and topics.
  caf::actor sync;
  /// Live runs: its HTTP URL for node-side commands (TROUPE_SYNC_URL); empty in sim.
  std::string sync_url;
  uint64_t seed = 1;
  duration run_duration{};
  std::filesystem::path run_dir;
  bool virtual_time = false;
  std::string prometheus_url; ///< --prometheus-url: default for `metric` expectations
  /// What the run's views show (report/: --metrics-port, --serve); written by the runner and
  /// by workloads with figures of their own (job counts). Never read back into the run.
  std::shared_ptr<live_status> live;

  /// Run time now, from the actor clock (virtual in sim): the runner fixes the origin.
  caf::actor_clock::time_point origin{};
  duration since_start(caf::actor_clock::time_point now) const { return now - origin; }

  /// Handles of the nodes named by `selector`: a group name, a node id, or "all".
  std::vector<node_handle> select(const std::string& selector) const;
};

using run_context_ptr = std::shared_ptr<const run_context>;

// -- defining kinds -------------------------------------------------------------

/// Reads an entry's parameters again inside its actor, with the reader that validated them
/// before the run (so problems were reported then; defaults fill what is absent).
template <class Read>
auto read_validated(Read read, const kind_entry& entry, const troupe::scenario& s) {
  std::vector<validation_error> reported_before_the_run;
  params_reader r{entry.params, "", reported_before_the_run};
  return read(r, s);
}

/// A workload or expectation kind: `read(params_reader&, const scenario&)` checks (and
/// returns) its parameters, `behavior(self, run_context_ptr, kind_entry)` is its actor.
template <class Read, class Behavior>
actor_kind make_actor_kind(std::string kind, std::string summary, Read read, Behavior behavior) {
  actor_kind k;
  k.kind = std::move(kind);
  k.summary = std::move(summary);
  k.validate = [read](params_reader& r, const troupe::scenario& s) { read(r, s); };
  k.spawn = [behavior](caf::actor_system& sys, run_context_ptr ctx, const kind_entry& e) {
    return sys.spawn(behavior, std::move(ctx), e);
  };
  return k;
}

} // namespace troupe
