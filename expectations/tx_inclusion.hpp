#pragma once
// `tx_inclusion`: at least `min_ratio` of the submitted transactions are final on every up
// node by the end. Evidence: counts and p50/p90/p99 latency from submission to the first
// finalization, and a few missing transaction ids.
//
//   {"kind": "tx_inclusion", "min_ratio": 0.95, "grace": "0s"}

#include "actors/registry.hpp"

namespace troupe::expectations {

actor_kind tx_inclusion_kind();

} // namespace troupe::expectations
