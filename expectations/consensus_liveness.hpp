#pragma once
// `consensus_liveness`: at the end of the run every up node is at least `min_height` and
// within `max_lag` blocks of the highest node.
//
//   {"kind": "consensus_liveness", "min_height": 10, "max_lag": 3}

#include "actors/registry.hpp"

namespace troupe::expectations {

actor_kind consensus_liveness_kind();

} // namespace troupe::expectations
