#pragma once
// `transactions`: submits transactions at a steady rate to the target nodes, each to a node
// picked from the run's seeded stream, and reports every accepted one to the runner.
//
//   {"kind": "transactions", "rate": "10/s", "users": 100, "target": "all",
//    "tx_bytes": 250, "start_after": "0s", "stop_before": "0s"}

#include "actors/registry.hpp"

namespace troupe::workloads {

actor_kind transactions_kind();

} // namespace troupe::workloads
