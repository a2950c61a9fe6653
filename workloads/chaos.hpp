#pragma once
// `chaos`: random faults on a seeded schedule. Each part is optional.
//
//   {"kind": "chaos",
//    "restarts":   {"targets": "validator", "delay_min": "20s", "delay_max": "60s",
//                   "downtime": "10s", "cooldown": "60s", "max_down": 1},
//    "partitions": {"split": 0.3, "delay_min": "60s", "delay_max": "120s",
//                   "duration_min": "10s", "duration_max": "30s"},
//    "clock_skew": {"targets": "all", "offset_max": "500ms", "drift_ppm_max": 100},
//    "start_after": "10s", "stop_before": "60s",
//    "vary": {"restarts.delay_max": ["20s", "2m"], "partitions.split": [0.1, 0.5]}}
//
// `vary` (optional) gives ranges that `troupe run --vary` / `troupe swarm --vary` draw from
// the seed (actors/scenario/vary.hpp); without --vary the written values apply.
// `stop_before` keeps the end of the run quiet so that convergence can be judged.

#include "actors/registry.hpp"

namespace troupe::workloads {

actor_kind chaos_kind();

} // namespace troupe::workloads
