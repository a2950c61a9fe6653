#pragma once
// `jobs_complete`: the scenario's job campaigns finished, with at least `min_ratio` of their
// jobs completed and at most `max_failed` failed. Evidence: per campaign, the counts and the
// failed jobs (status, id, slice or key).
//
//   {"kind": "jobs_complete", "min_ratio": 1.0, "max_failed": 0, "workload": "jobs"}

#include "actors/registry.hpp"

namespace troupe::expectations {

actor_kind jobs_complete_kind();

} // namespace troupe::expectations
