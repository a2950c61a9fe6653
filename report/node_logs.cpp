#include "report/node_logs.hpp"

#include <re2/re2.h>

#include "actors/log_scan.hpp"

namespace troupe {

using nlohmann::json;

namespace {

/// What counts as an error or a warning line (case-insensitive): the usual level words of
/// log formats (ERROR, E!, [error], level=error, FATAL, panic, CRIT...).
const re2::RE2& error_pattern() {
  static const re2::RE2 re{R"((?i)(\b(error|err|fatal|crit|critical|panic|emerg|alert)\b)|(^E!))"};
  return re;
}
const re2::RE2& warning_pattern() {
  static const re2::RE2 re{R"((?i)(\b(warn|warning|wrn)\b)|(^W!))"};
  return re;
}

struct severity_counts {
  log_scan_result read;
  uint64_t errors = 0;
  uint64_t warnings = 0; ///< warning lines that are not also error lines
};

severity_counts count_severities(const std::filesystem::path& file) {
  severity_counts c;
  c.read = read_log_lines(file, log_bytes_max, [&](const std::string& line, uint64_t) {
    if (re2::RE2::PartialMatch(line, error_pattern()))
      ++c.errors;
    else if (re2::RE2::PartialMatch(line, warning_pattern()))
      ++c.warnings;
  });
  return c;
}

} // namespace

json node_logs_report(const std::filesystem::path& run_dir, const std::vector<std::string>& ids,
                      const std::string& backend, bool virtual_time) {
  json nodes = json::object();
  uint64_t errors = 0, warnings = 0;
  for (const auto& id : ids) {
    const auto c = count_severities(node_log_path(run_dir, id));
    if (!c.read.exists)
      continue;
    errors += c.errors;
    warnings += c.warnings;
    nodes[id] = json{{"bytes", c.read.bytes},
                     {"lines", c.read.lines},
                     {"errors", c.errors},
                     {"warnings", c.warnings},
                     {"truncated", c.read.truncated}};
  }
  json out{{"dir", "nodes"}, {"nodes", nodes}, {"errors", errors}, {"warnings", warnings}};
  if (nodes.empty())
    out["note"] = virtual_time
                    ? "The " + backend + " backend simulates nodes and writes no node logs."
                    : "No node log files were found in nodes/.";
  else if (nodes.size() < ids.size())
    out["note"] = std::to_string(ids.size() - nodes.size()) + " of " + std::to_string(ids.size()) +
                  " nodes have no log file.";
  return out;
}

} // namespace troupe
