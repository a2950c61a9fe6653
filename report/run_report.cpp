#include "report/run_report.hpp"

#include <spdlog/spdlog.h>

#include "report/junit.hpp"
#include "report/node_logs.hpp"
#include "report/report.hpp"
#include "report/report_html.hpp"

namespace troupe {

nlohmann::json write_run_report(const run_outcome& in, const std::filesystem::path& run_dir) {
  std::vector<std::string> ids;
  if (in.topo)
    for (const auto& n : in.topo->nodes)
      ids.push_back(n.id);
  auto report = build_report(in, node_logs_report(run_dir, ids, in.backend, in.virtual_time));
  write_report(run_dir, report);
  try {
    write_report_html(run_dir, report);
  } catch (const std::exception& e) {
    // The JSON report is the record; a page (or the JUnit file) that cannot be written must
    // not hide it.
    spdlog::error("cannot write report.html: {}", e.what());
  }
  try {
    write_junit(run_dir, report);
  } catch (const std::exception& e) {
    spdlog::error("cannot write report.junit.xml: {}", e.what());
  }
  return report;
}

} // namespace troupe
