#include "report/node_logs.hpp"

#include "actors/node_log_scan.hpp"

namespace troupe {

using nlohmann::json;

json node_logs_report(const std::filesystem::path& run_dir, const std::vector<std::string>& ids,
                      const std::string& backend, bool virtual_time) {
  json nodes = json::object();
  uint64_t errors = 0, warnings = 0;
  for (const auto& id : ids) {
    auto s = scan_node_log(run_dir, id);
    if (!s.exists)
      continue;
    errors += s.errors;
    warnings += s.warnings;
    nodes[id] = json{{"bytes", s.bytes},
                     {"lines", s.lines},
                     {"errors", s.errors},
                     {"warnings", s.warnings},
                     {"truncated", s.truncated}};
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
