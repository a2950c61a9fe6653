#pragma once
// report.json: what happened in a run, for machines (and for report.html, which is rendered
// from it). Built once, after teardown, on every path that got as far as deploying.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/node_types.hpp"
#include "actors/run_context.hpp"
#include "actors/scenario/scenario.hpp"
#include "actors/scenario/topology.hpp"

namespace troupe {

struct report_input {
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
  nlohmann::json node_logs;           ///< node_logs_report(); null: not scanned
};

/// Schema (stable keys): verdict ("pass" | "fail" | "error" | "interrupted"), scenario, seed,
/// digest (hex string or null), backend, expectations [{name, kind, pass, summary, evidence}],
/// nodes [node_status], series {time_s: [...], heights: {id: [...]}} (-1 = down), faults
/// [{action, nodes, start_s, end_s, detail}], counters {...}, timing {simulated_seconds,
/// wall_seconds, speedup}, reproduce, error.
///
/// Added for report.html (issue 7): nodes[].group/role; series.counters {name: [...]}
/// (cumulative, aligned with series.time_s: messages, drops, txs_submitted, txs_included);
/// tx_latency {count, p50, p90, p99, max, samples_s, definition}; node_logs {dir, nodes
/// {id: {bytes, lines, errors, warnings, truncated}}, errors, warnings, note}; and, when a
/// backend provides one, jobs {series {time_s, by_status {status: [...]}}, phases {phase:
/// {count, p50, p90, p99, max}}} (docs/observability.md).
///
/// program_metrics (live backends, groups with a `scrape` key): {definition, groups {group:
/// {program, path, port, every_s, series, nodes}}, scrapes {ok, skipped_down, failed, nodes
/// {id: {ok, skipped_down, failed, last_error}}}, series {selector: {kind (counter | gauge |
/// unknown), nodes {id: {samples, missing, first, last, min, max, first_s, last_s, and for
/// counters increase, resets, rate_per_s}}, total {nodes, nodes_with_samples, samples,
/// first, last, min, max, increase, rate_per_s}, points {id: [[t_s, value|null], ...]}}}}.
nlohmann::json build_report(const report_input& in);

/// One line per scraped program series ("metric NAME: 3 nodes, sum 12 -> 340 (5.3/s)"), for
/// the console summary; empty without a program_metrics section.
std::string program_metrics_summary(const nlohmann::json& report);

/// Writes report.json (atomically: temp file + rename) into `run_dir`.
void write_report(const std::filesystem::path& run_dir, const nlohmann::json& report);

} // namespace troupe
