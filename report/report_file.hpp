#pragma once
// The files of a run directory as report/ reads and writes them: report.json read back with
// limits and one-sentence errors, and every page written whole or not at all (a temporary
// file, then a rename), so a reader never sees half a report.

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace troupe {

/// RUN_DIR/report.json, checked to be a troupe report. Throws user_error with one sentence
/// (missing directory or file, not JSON, not a report).
nlohmann::json read_report_file(const std::filesystem::path& run_dir);

/// Writes `text` to `path` through `path`.tmp and a rename; throws std::runtime_error naming
/// the file when it cannot be written.
void write_file_atomic(const std::filesystem::path& path, const std::string& text);

} // namespace troupe
