#pragma once
// The sync service as an actor (DESIGN.md: "sync service"): one per run, shared by the
// runner, workloads and, live, node-side scripts through its HTTP face (services/sync_http).
// In sim it runs on virtual time like every other actor, and folds each change into the
// run's trace digest, so a run that synchronises differently has a different digest.
//
//   (sync_signal_atom, state)                    -> sync_answer{value: seq}
//   (sync_count_atom, state)                     -> sync_answer{value: count}
//   (sync_barrier_atom, state, target, wait_ns)  -> sync_answer{value: count}, held until
//        count >= target (released) or wait_ns passes (value < target: not yet); wait_ns < 0
//        waits for ever
//   (sync_publish_atom, topic, payload)          -> sync_answer{value: seq}
//   (sync_subscribe_atom, topic, from, wait_ns)  -> sync_answer{value: seq of the first
//        payload, payloads}, held until a payload with seq >= from exists or wait_ns passes
//        (payloads empty)
//
// A refused request (bad name, a limit reached) answers with `error` set, never a crash.

#include <cstdint>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "actors/run_trace.hpp"
#include "actors/sync_state.hpp"

namespace troupe {

using sync_signal_atom = caf::atom_constant<caf::atom("syncsig")>;
using sync_count_atom = caf::atom_constant<caf::atom("synccount")>;
using sync_barrier_atom = caf::atom_constant<caf::atom("syncbar")>;
using sync_publish_atom = caf::atom_constant<caf::atom("syncpub")>;
using sync_subscribe_atom = caf::atom_constant<caf::atom("syncsub")>;

struct sync_answer {
  uint64_t value = 0;
  std::vector<std::string> payloads; ///< subscribe: from seq `value` on
  std::string error;                 ///< empty: accepted
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, sync_answer& x) {
  return f(caf::meta::type_name("sync_answer"), x.value, x.payloads, x.error);
}

/// Trace event kinds the sync actor folds (run_trace::fold_event's `what`).
enum class sync_trace : uint32_t {
  signal = 0x53590001,  ///< a: hash(state), b: seq
  release = 0x53590002, ///< a: hash(state), b: target
  publish = 0x53590003, ///< a: hash(topic), b: seq and hash(payload)
};

/// Spawns a run's sync service; `trace` may be null (live runs).
caf::actor spawn_sync(caf::actor_system& sys, run_trace_ptr trace, sync_state::options o = {});

} // namespace troupe
