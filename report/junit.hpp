#pragma once
// report.junit.xml: a run as CI systems read test results (Jenkins, GitLab, GitHub Actions
// reporters). Rendered from report.json alone, so `troupe report DIR` regenerates it.
//
//   <testsuites>                       the same counts as its one suite
//     <testsuite name=SCENARIO tests failures errors skipped time timestamp?>
//       <properties>                   seed, backend, digest, verdict
//       <testcase name=EXPECTATION classname=SCENARIO.KIND>
//         <failure message=SUMMARY type=KIND>summary and evidence</failure>   (failed)
//         <system-out>reproduce: troupe run ...</system-out>                   (failed)
//       <testcase name="run" classname=SCENARIO.run>                             (run errored:
//         <error message=ERROR type=VERDICT>                                     deploy failure,
//       <system-out>reproduce: ...</system-out>                                  interrupted)

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace troupe {

/// `text` escaped for XML 1.0 character data (`attribute`: for a double-quoted attribute
/// value, where tabs and line breaks are kept as character references). Control characters
/// XML 1.0 cannot carry at all become a visible `\xHH`.
std::string xml_escape(std::string_view text, bool attribute = false);

/// report.junit.xml's text for a report.json value (build_report's schema).
std::string junit_xml(const nlohmann::json& report);

/// Writes report.junit.xml (atomically: temp file + rename) into `run_dir`.
void write_junit(const std::filesystem::path& run_dir, const nlohmann::json& report);

} // namespace troupe
