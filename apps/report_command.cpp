// troupe report DIR: regenerates DIR/report.html and DIR/report.junit.xml from DIR/report.json
// (after an upgrade, or for a report.json that came from elsewhere).

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "actors/errors.hpp"
#include "report/junit.hpp"
#include "report/report_html.hpp"
#include "apps/commands.hpp"

namespace troupe::apps {

void add_report_command(CLI::App& root, int& exit_code) {
  auto cmd = root.add_subcommand(
    "report", "Regenerate DIR/report.html and DIR/report.junit.xml from DIR/report.json");
  static std::string dir;
  cmd->add_option("DIR", dir, "run directory (holds report.json)")->required();
  cmd->callback([&exit_code] {
    const std::filesystem::path run_dir{dir};
    const auto json_path = run_dir / "report.json";
    std::ifstream in{json_path};
    if (!in)
      throw user_error("cannot read " + json_path.string() +
                       "; pass a run directory written by `troupe run`");
    nlohmann::json report;
    try {
      report = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw user_error(json_path.string() + " is not valid JSON (" + e.what() +
                       "); rerun the scenario to write it again");
    }
    if (!report.is_object() || !report.contains("verdict"))
      throw user_error(json_path.string() + " is not a troupe report (no \"verdict\")");
    try {
      write_report_html(run_dir, report);
    } catch (const std::exception& e) {
      throw user_error("cannot write " + (run_dir / "report.html").string() + ": " + e.what());
    }
    try {
      write_junit(run_dir, report);
    } catch (const std::exception& e) {
      throw user_error("cannot write " + (run_dir / "report.junit.xml").string() + ": " + e.what());
    }
    std::printf("%s\n%s\n", (run_dir / "report.html").string().c_str(),
                (run_dir / "report.junit.xml").string().c_str());
    exit_code = exit_pass;
  });
}

} // namespace troupe::apps
