#pragma once
// The link profiles a scenario writes (`topology.link`, a group's `link`) as the set_link
// requests a live backend's capability query answers: live, a written profile shapes the
// link relays from the start of the run, so a backend that cannot shape a program's links
// refuses it up front (`troupe validate --backend NAME` lists it; `troupe run` stops before
// starting a node), exactly as it refuses a set_link step.

#include <vector>

#include "actors/backend.hpp"
#include "actors/scenario/scenario.hpp"
#include "actors/scenario/topology.hpp"

namespace troupe {

/// One request per written profile, naming the nodes it shapes (`where`: its JSON path);
/// none for a scenario that writes no link.
std::vector<fault_request> link_profile_requests(const scenario& s, const expanded_topology& t);

/// Throws user_error (exit 2) naming the first written profile that `b` refuses, and why;
/// a live backend calls it before it starts anything.
void refuse_unshapeable_links(const backend& b, const scenario& s, const expanded_topology& t);

/// `l` as set_link's properties.
link_cmd to_link_cmd(const link_profile& l);

} // namespace troupe
