#pragma once
// `safety`: no two nodes ever finalize different blocks at the same height. Checked on
// every finalization as it happens (not only at the end); the first conflicts are evidence.
//
//   {"kind": "safety"}

#include "actors/registry.hpp"

namespace troupe::expectations {

actor_kind safety_kind();

} // namespace troupe::expectations
