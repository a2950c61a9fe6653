#pragma once
// report.html: a run for people, rendered from report.json alone (so `troupe report DIR`
// can regenerate it). One self-contained file: inline CSS and SVG, no script, no network.
//
// Sections: header (verdict, seed, digest, timing, reproduce command), verdict table with
// each expectation's evidence, heights per node over time with fault windows shaded and
// labelled (one line per node up to `lines_nodes_max` nodes, min/median/max bands above),
// transaction inclusion latency histogram with p50/p90/p99, messages and drops over time,
// transactions over time, jobs by status and per-phase latency (when report.json has a
// `jobs` section), node programs' scraped metrics (when it has `program_metrics`: a chart
// and a table per series), counters, and a node table with log error/warning counts.

#include <cstddef>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/markup_escape.hpp"

namespace troupe {

struct html_options {
  /// Up to this many nodes the height chart draws one line per node; above, bands.
  size_t lines_nodes_max = 50;
  /// Up to this many nodes the node table is open; above, it is folded.
  size_t table_open_nodes_max = 50;
};

/// The whole page.
std::string render_report_html(const nlohmann::json& report, const html_options& o = {});

/// Writes report.html (temp file + rename) into `run_dir`.
void write_report_html(const std::filesystem::path& run_dir, const nlohmann::json& report);

} // namespace troupe
