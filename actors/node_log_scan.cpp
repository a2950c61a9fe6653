#include "actors/node_log_scan.hpp"

#include <fstream>

namespace troupe {

using nlohmann::json;

const std::regex& error_pattern() {
  static const std::regex re{R"((\b(error|err|fatal|crit|critical|panic|emerg|alert)\b)|(^E!))",
                             std::regex::icase | std::regex::optimize};
  return re;
}

const std::regex& warning_pattern() {
  static const std::regex re{R"((\b(warn|warning|wrn)\b)|(^W!))",
                             std::regex::icase | std::regex::optimize};
  return re;
}

std::filesystem::path node_log_path(const std::filesystem::path& run_dir, const std::string& id) {
  return run_dir / "nodes" / (id + ".log");
}

node_log_summary scan_node_log(const std::filesystem::path& run_dir, const std::string& id,
                               const std::regex* pattern, uint64_t bytes_max, size_t examples_max) {
  node_log_summary s;
  s.id = id;
  const auto path = node_log_path(run_dir, id);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return s;
  s.exists = true;
  s.bytes = std::filesystem::file_size(path, ec);
  std::ifstream in{path};
  std::string line;
  uint64_t read = 0;
  while (std::getline(in, line)) {
    read += line.size() + 1;
    if (read > bytes_max) {
      s.truncated = true;
      break;
    }
    ++s.lines;
    if (std::regex_search(line, error_pattern()))
      ++s.errors;
    else if (std::regex_search(line, warning_pattern()))
      ++s.warnings;
    if (pattern && std::regex_search(line, *pattern)) {
      ++s.matches;
      if (s.examples.size() < examples_max)
        s.examples.push_back({s.lines, line.size() > 300 ? line.substr(0, 300) : line});
    }
  }
  return s;
}

} // namespace troupe
