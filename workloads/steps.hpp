#pragma once
// `steps`: a timed script of faults and repairs.
//
//   {"kind": "steps", "steps": [
//     {"at": "30s",  "action": "isolate",   "nodes": ["validator-0"]},
//     {"at": "60s",  "action": "heal",      "nodes": ["validator-0"]},
//     {"at": "90s",  "action": "partition", "sides": [["validator"], ["observer"]]},
//     {"at": "210s", "action": "heal"},
//     {"at": "240s", "action": "set_link",  "from": ["all"], "to": ["all"], "latency": "200ms"}
//   ]}
//
// Actions: stop, start, restart, kill, pause, resume, isolate, heal (on nodes; heal with no
// nodes heals the whole network), partition (sides of selectors, "symmetric": false for
// one-way), set_link (from/to selectors; latency, jitter, loss, bandwidth), skew (nodes;
// offset, drift_ppm), signal (one entry into the run's sync service's "state" per selected
// node, or one entry without nodes). Selectors are "all", group names or node ids.
//
// A step may wait on the sync service instead of (or as well as) the clock:
//   {"when": {"signal": "synced", "count": 8}, "action": "heal"}
// runs once the state "synced" has 8 entries (from this script's signal steps, other
// workloads, or node-side scripts through `troupe sync`), and not before its "at" if it
// has one. A step whose count is never reached never runs (the run's events say so).

#include "actors/registry.hpp"

namespace troupe::workloads {

actor_kind steps_kind();

} // namespace troupe::workloads
