#pragma once
// `troupe compare A B`: two runs of one scenario side by side — typically the simulator and a
// live backend — from their report.json alone.
//
// compare.json (the page is rendered from it):
//   runs          [{label, run_dir, scenario, backend, seed, verdict, digest, seconds}] x 2
//   same_scenario whether both reports name the same scenario
//   figures       [{name, unit, a, b, difference, relative}]: one row per figure both runs
//                 can have (heights, forks, reorgs, transaction latency percentiles, inclusion,
//                 faults, refusals, convergence); a or b null when that run has none
//   expectations  [{name, kind, a_pass, b_pass, a_summary, b_summary}]
//   heights       {time_s, groups: {GROUP: {a, b}}}: per group the highest node's height on
//                 one time grid (the coarser run's), up to the shorter run's end
//   widest_gap    where the group height curves are furthest apart {group, time_s, a, b, gap}
//   faults        {a: [...], b: [...]}: each run's fault windows as report.json has them
//   recoveries    [{action, a_heal_s, b_heal_s, a_s, b_s}]: for the i-th fault of both runs
//                 (same action), seconds from its end until every node's height is within one
//                 block of the highest ("heights agree"), null when they never do
//   differences   the figures ranked by relative difference, largest first, each with one
//                 sentence; the page leads with them

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace troupe {

/// One run to compare: its report.json and how the page names it (e.g. "A: sim").
struct compared_run {
  nlohmann::json report;
  std::string label;
  std::string run_dir;
};

nlohmann::json compare_reports(const compared_run& a, const compared_run& b);

/// compare.html for compare_reports' result.
std::string render_compare_html(const nlohmann::json& comparison);

/// Writes compare.json and compare.html into `out_dir` (created; each file atomically).
void write_comparison(const std::filesystem::path& out_dir, const nlohmann::json& comparison);

} // namespace troupe
