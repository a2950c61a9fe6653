#pragma once
// Node log files of a run (`<run_dir>/nodes/<id>.log`, written by live backends; the
// simulator writes none): line counts by severity (report/node_logs sums them for the
// report), and pattern matching for the `log_pattern` expectation. Reading is bounded (`bytes_max` per file) so a runaway log
// cannot stall the report.

#include <cstdint>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace troupe {

struct log_match {
  uint64_t line_number = 0;
  std::string text; ///< the line, cut at 300 characters
};

struct node_log_summary {
  std::string id;
  bool exists = false;
  uint64_t bytes = 0;
  uint64_t lines = 0;
  uint64_t errors = 0;             ///< lines matching error_pattern()
  uint64_t warnings = 0;           ///< lines matching warning_pattern() (and not errors)
  bool truncated = false;          ///< stopped reading at bytes_max
  uint64_t matches = 0;            ///< lines matching the caller's pattern (scan_node_log with one)
  std::vector<log_match> examples; ///< the first few matches
};

/// What counts as an error or a warning line (case-insensitive): the usual level words of
/// log formats (ERROR, E!, [error], level=error, FATAL, panic, CRIT...).
const std::regex& error_pattern();
const std::regex& warning_pattern();

/// The path of a node's log in a run directory.
std::filesystem::path node_log_path(const std::filesystem::path& run_dir, const std::string& id);

/// Reads one node's log; `pattern` (may be null) is also matched on every line.
node_log_summary scan_node_log(const std::filesystem::path& run_dir, const std::string& id,
                               const std::regex* pattern = nullptr,
                               uint64_t bytes_max = 256ull << 20, size_t examples_max = 5);

} // namespace troupe
