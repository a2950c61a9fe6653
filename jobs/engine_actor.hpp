#pragma once
// The job engine as an actor: one actor per store (per `engine`), reached by messages.
//
// Why one per store and not one per job type's queue: the engine's types are not
// independent queues. A pipeline's stage i+1 job is created when stage i completes, a
// stage can wait for the previous key's job of the same stage, `claim_any` serves types in
// definition order, and one group commit writes every type's changes in one transaction
// (one campaign lock with a shared PostgreSQL store). Queues per type would turn each of
// those into a conversation between actors; one actor per store keeps them single-threaded
// state changes, as the engine core already is.
//
// Time: the actor reads only `self->clock().now()`: wall time live, virtual time under a
// deterministic scheduler (the sim backend, CAF's test coordinator). "now" for the engine is
// `epoch_ms` plus the actor clock's time since the actor started.
//
// Group commit: an operation that changes jobs keeps its answer and, unless one is already
// queued, sends the actor a commit message. That message lands behind whatever requests are
// already in the mailbox, so every change of a burst is written in one transaction, and only
// then are the burst's answers delivered: no answer reports a change a kill -9 could lose.
//
// A simulated campaign (sim_workers.hpp) can live inside the actor too: its workers call the
// engine in line, on the actor's thread, in the order `advance` gives them (what keeps a sim
// run a pure function of its seed), and whoever drives it sends `engine_advance_atom`.

#include "jobs/engine.hpp"
#include "jobs/replay/replay.hpp"
#include "jobs/workers/sim_workers.hpp"

#include <caf/all.hpp>

#include <functional>
#include <memory>
#include <string>

namespace troupe::jobs {

/// What an engine actor owns. `engine` is required; the rest may be null.
struct engine_host {
  std::shared_ptr<store> db;
  std::shared_ptr<engine> e;
  std::shared_ptr<replay_service> replay; ///< the replay-test face over `e`
  std::shared_ptr<campaign> run;          ///< simulated workers over `e` or `replay`
  time_ms epoch_ms = 0;                   ///< the engine's "now" when the actor starts
  /// Commit each burst (above). False: leave commits to the engine's commit_batch_max and to
  /// explicit calls (a sim campaign, whose store is not read until the run reports).
  bool group_commit = true;
};

/// Work run inside the actor with the engine's "now" (dashboards, reports, the replay face).
/// It leaves what it found where its closure says (a shared_ptr the caller holds); the answer
/// `true` arrives after the commit of whatever it changed, so the caller reads it then.
struct engine_call {
  std::function<void(engine_host&, time_ms now)> f;
};

/// A claim's answer; id 0: nothing to claim.
struct engine_task {
  job_id id = 0;
  uint8_t which = 0; ///< phase
  int64_t fence = 0;
  std::string payload;
};

// Protocol (every request is answered):
//   (engine_claim_atom, type, worker)                        -> engine_task
//   (engine_complete_atom, id, worker, result, fence)        -> uint8_t outcome
//   (engine_verify_atom, id, worker, uint8_t verdict, detail, fence) -> uint8_t outcome
//   (engine_fail_atom, id, worker, error, fence)             -> uint8_t outcome
//   (engine_enqueue_atom, type, payload)                     -> job_id
//   (engine_advance_atom, time_ms now) -> (time_ms next or -1: nothing due, bool finished)
//   (engine_call_atom, engine_call)                          -> bool true
// A fence of 0 is "no fence" (clients from before fencing).
using engine_claim_atom = caf::atom_constant<caf::atom("jclaim")>;
using engine_complete_atom = caf::atom_constant<caf::atom("jcomplete")>;
using engine_verify_atom = caf::atom_constant<caf::atom("jverify")>;
using engine_fail_atom = caf::atom_constant<caf::atom("jfail")>;
using engine_enqueue_atom = caf::atom_constant<caf::atom("jenqueue")>;
using engine_advance_atom = caf::atom_constant<caf::atom("jadvance")>;
using engine_call_atom = caf::atom_constant<caf::atom("jcall")>;
using engine_commit_atom = caf::atom_constant<caf::atom("jcommit")>;

caf::actor spawn_engine(caf::actor_system& sys, std::shared_ptr<engine_host> host);

} // namespace troupe::jobs

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::jobs::engine_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::jobs::engine_task)
