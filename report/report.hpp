#pragma once
// report.json: what happened in a run, for machines (and for report.html, which is rendered
// from it). Built once, after teardown, on every path that got as far as deploying.

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/run_outcome.hpp"

namespace troupe {

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
/// `node_logs`: node_logs_report() of the run (null: not scanned).
///
/// refusals [{time_s, action, nodes, reason}]: controls and faults the backend answered with
/// ok = false (or did not answer): never in `faults`; counted as counters.refusals (and the
/// fault windows as counters.faults). `fabric` (live backends with link relays): the relays'
/// per-link counts, see backends/agent/fabric.hpp and docs/live.md.
nlohmann::json build_report(const run_outcome& in, nlohmann::json node_logs = nullptr);

/// The console summary: one line per expectation (PASS/FAIL and its evidence), the verdict,
/// and on failure the exact command that reproduces it.
std::string console_summary(const nlohmann::json& report);

/// One line per scraped program series ("metric NAME: 3 nodes, sum 12 -> 340 (5.3/s)"), for
/// the console summary; empty without a program_metrics section.
std::string program_metrics_summary(const nlohmann::json& report);

/// Writes report.json (atomically: temp file + rename) into `run_dir`.
void write_report(const std::filesystem::path& run_dir, const nlohmann::json& report);

} // namespace troupe
