#pragma once
// Events of a run outside the node network that still belong in its trace digest: a job
// campaign's every job change (created, claimed, completed, verified, failed, lease expired).
// The sim backend folds them into the world's trace, in the order the deterministic scheduler
// runs their actors, so two campaigns that behave differently have different digests. Live
// backends have no digest and hand out no trace.

#include <cstdint>
#include <memory>

namespace troupe {

class run_trace {
public:
  virtual ~run_trace() = default;

  /// Folds one event at the current run time: `what` says what changed (e.g. a job's new
  /// status), `a` and `b` are its values (e.g. the job id, attempts and time).
  virtual void fold_event(uint32_t what, uint64_t a, uint64_t b) = 0;
};

using run_trace_ptr = std::shared_ptr<run_trace>;

} // namespace troupe
