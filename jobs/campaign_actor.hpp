#pragma once
// Runs a campaign inside a CAF actor, on whatever clock the actor system has: wall time
// live, virtual time under a deterministic scheduler (the sim backend, or CAF's
// test_coordinator). The actor reads time only from `self->clock().now()` and waits only
// with delayed messages, so on virtual time a day-long campaign takes as long as its events.

#include "jobs/workers/sim_workers.hpp"

#include <caf/all.hpp>

#include <memory>

namespace troupe::jobs {

using campaign_run_atom = caf::atom_constant<caf::atom("jobsrun")>;
using campaign_tick_atom = caf::atom_constant<caf::atom("jobstick")>;

/// Spawns an actor that owns `c` (and whatever `keep_alive` holds: the engine, store and
/// services the campaign refers to). Protocol: request `campaign_run_atom` -> the summary
/// JSON text, delivered when the campaign finishes (or `time_ms_max` of campaign time ran out).
caf::actor spawn_campaign(caf::actor_system& sys, std::shared_ptr<campaign> c, time_ms time_ms_max,
                          std::shared_ptr<void> keep_alive = nullptr);

} // namespace troupe::jobs
