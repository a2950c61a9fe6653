#pragma once
// What a run recorded, handed to the run_reporter (actors/run_observer.hpp) once the run is
// over: report/ turns it into report.json and report.html.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/node_types.hpp"
#include "actors/run_context.hpp"
#include "actors/scenario/scenario.hpp"
#include "actors/scenario/topology.hpp"

namespace troupe {

/// One run, as the runner saw it. `s` and `topo` live as long as the reporter call.
struct run_outcome {
  const scenario* s = nullptr;
  const expanded_topology* topo = nullptr;
  std::string backend;
  bool virtual_time = false;
  bool deployed = false;
  nlohmann::json backend_results = nlohmann::json::object(); ///< digest, counters, ...
  std::vector<double> sample_times_s;
  std::vector<std::vector<int64_t>> heights;
  std::vector<run_event> events;
  std::vector<verdict> verdicts;
  std::vector<node_status> final_status;
  uint64_t txs_submitted = 0;
  uint64_t txs_rejected = 0;
  double run_seconds = 0;
  double wall_seconds = 0;
  std::string reproduce;
  std::string error; ///< non-empty: the run did not complete (deploy failure, signal, ...)
  /// Cumulative counters per sample, aligned with sample_times_s (messages, drops, ...).
  std::map<std::string, std::vector<uint64_t>> counter_series;
  uint64_t txs_final = 0;             ///< final on at least one node
  std::vector<double> tx_latencies_s; ///< submission to first finalization on any node
};

} // namespace troupe
