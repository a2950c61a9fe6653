#include "report/junit.hpp"

#include "report/html/elements.hpp"
#include "report/report_file.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace troupe {

namespace {

using nlohmann::json;

using html::str;

std::string seconds(const json& report) {
  double s = 0;
  if (auto t = report.find("timing"); t != report.end() && t->is_object())
    if (auto w = t->find("wall_seconds"); w != t->end() && w->is_number())
      s = w->get<double>();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

/// ` key="value"` with the value escaped.
std::string attr(const char* key, std::string_view value) {
  return std::string(" ") + key + "=\"" + xml_escape(value, true) + "\"";
}

} // namespace

std::string junit_xml(const json& r) {
  if (!r.is_object())
    throw std::invalid_argument("junit_xml: report.json must be an object");
  const std::string scenario = str(r, "scenario", "scenario");
  const std::string verdict = str(r, "verdict", "error");
  const std::string reproduce = str(r, "reproduce");
  const std::string error = str(r, "error");
  const json exps =
    r.contains("expectations") && r["expectations"].is_array() ? r["expectations"] : json::array();
  size_t failures = 0;
  for (const auto& e : exps)
    if (!e.value("pass", false))
      ++failures;
  // A run that errored (deploy failure, interrupted) judged nothing: one testcase says so.
  const bool errored = !error.empty() || (verdict != "pass" && verdict != "fail");
  const size_t tests = exps.size() + (errored ? 1 : 0);
  const std::string counts = attr("tests", std::to_string(tests)) +
                             attr("failures", std::to_string(failures)) +
                             attr("errors", errored ? "1" : "0") + attr("time", seconds(r));
  const std::string repro_out =
    reproduce.empty() ? ""
                      : "      <system-out>reproduce: " + xml_escape(reproduce) + "</system-out>\n";

  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x << "<testsuites" << attr("name", "troupe") << counts << ">\n";
  x << "  <testsuite" << attr("name", scenario) << counts << attr("skipped", "0") << ">\n";
  x << "    <properties>\n";
  for (const char* key : {"seed", "backend", "digest", "verdict"})
    if (r.contains(key) && !r[key].is_null())
      x << "      <property" << attr("name", key) << attr("value", str(r, key)) << "/>\n";
  x << "    </properties>\n";
  for (const auto& e : exps) {
    const std::string kind = str(e, "kind", "expectation");
    x << "    <testcase" << attr("name", str(e, "name", kind))
      << attr("classname", scenario + "." + kind) << ">\n";
    if (!e.value("pass", false)) {
      const std::string summary = str(e, "summary");
      x << "      <failure" << attr("message", summary) << attr("type", kind) << ">"
        << xml_escape(summary);
      if (e.contains("evidence") && !e["evidence"].is_null())
        x << "\n" << xml_escape(e["evidence"].dump(2));
      x << "</failure>\n" << repro_out;
    }
    x << "    </testcase>\n";
  }
  if (errored) {
    const std::string message = error.empty() ? "the run ended with verdict " + verdict : error;
    x << "    <testcase" << attr("name", "run") << attr("classname", scenario + ".run") << ">\n";
    x << "      <error" << attr("message", message) << attr("type", verdict) << ">"
      << xml_escape(message) << "</error>\n"
      << repro_out;
    x << "    </testcase>\n";
  }
  if (!reproduce.empty())
    x << "    <system-out>reproduce: " << xml_escape(reproduce) << "</system-out>\n";
  x << "  </testsuite>\n";
  x << "</testsuites>\n";
  return x.str();
}

void write_junit(const std::filesystem::path& run_dir, const json& report) {
  write_file_atomic(run_dir / "report.junit.xml", junit_xml(report));
}

} // namespace troupe
