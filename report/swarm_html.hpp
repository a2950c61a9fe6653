#pragma once
// swarm.html: a swarm for people, rendered from swarm.json alone (backends/sim/
// swarm_summary.hpp): the verdict over all seeds, the pass rate per expectation, the
// distribution of key figures across seeds (a histogram each), and the failing seeds with
// the command that reproduces each. Self-contained like report.html.

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace troupe {

std::string render_swarm_html(const nlohmann::json& swarm);

/// Writes swarm.html (temp file + rename) into `dir`.
void write_swarm_html(const std::filesystem::path& dir, const nlohmann::json& swarm);

} // namespace troupe
