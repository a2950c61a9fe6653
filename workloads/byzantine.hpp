#pragma once
// `byzantine`: makes chosen validators Byzantine from a point in the run on.
//
//   {"kind": "byzantine", "nodes": ["validator-0"], "behaviour": "equivocate", "at": "30s"}
//   {"kind": "byzantine", "nodes": "rogue", "behaviour": "invalid", "invalid": "bad_tx"}
//   {"kind": "byzantine", "nodes": ["validator-1"], "behaviour": "twin", "twin_of": "validator-0"}
//
// behaviour: "equivocate" (two blocks for one slot, each to half of the node's peers),
// "withhold" (selfish mining: keep blocks private, release them to win a race), "invalid"
// (blocks honest nodes must reject: "invalid" is "bad_parent", "oversized" or "bad_tx"), or
// "twin" (the node takes `twin_of`'s identity, so two nodes lead the same slots). The node
// keeps the behaviour to the end of the run, across restarts.
//
// It is sent to each node as (byzantine_atom, byzantine_cmd) and acknowledged like any
// fault: a fault event for the nodes that took it, a refusal with the reason for the others
// (live backends refuse it: a real program has no Byzantine mode). The `safety`
// expectation reads the nodes named here: it judges honest nodes only and names the
// Byzantine nodes whose blocks a conflict holds.

#include "actors/registry.hpp"

namespace troupe::workloads {

actor_kind byzantine_kind();

} // namespace troupe::workloads
