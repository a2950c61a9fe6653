#pragma once
// `convergence`: after the last fault heals, all up nodes share one tip within `within`.
// A fault that never heals fails it, with the tips of each side as evidence.
//
//   {"kind": "convergence", "within": "30s", "poll": "1s"}

#include "actors/registry.hpp"

namespace troupe::expectations {

actor_kind convergence_kind();

} // namespace troupe::expectations
