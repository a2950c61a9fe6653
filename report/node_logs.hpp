#pragma once
// The node-log summary of report.json: per node line counts by severity, from the logs live
// backends write into the run directory (read through actors/log_scan, bounded).

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe {

/// report.json's `node_logs`: {"dir": "nodes", "nodes": {id: {bytes, lines, errors, warnings,
/// truncated}}, "note": "..."}; nodes without a log file are left out and the note says why.
nlohmann::json node_logs_report(const std::filesystem::path& run_dir,
                                const std::vector<std::string>& ids, const std::string& backend,
                                bool virtual_time);

} // namespace troupe
