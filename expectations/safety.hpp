#pragma once
// `safety`: no two honest nodes ever finalize different blocks at the same height. Checked
// on every finalization as it happens (not only at the end); the first conflicts are
// evidence. Nodes named by the scenario's `byzantine` workloads are not judged (what a
// Byzantine node finalizes proves nothing); a conflict names the blocks' producers and which
// of them are Byzantine (a twin's blocks carry the identity it shares).
//
//   {"kind": "safety"}

#include "actors/registry.hpp"

namespace troupe::expectations {

actor_kind safety_kind();

} // namespace troupe::expectations
