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

#include "actors/markup_escape.hpp"

namespace troupe {

/// report.junit.xml's text for a report.json value (build_report's schema).
std::string junit_xml(const nlohmann::json& report);

/// Writes report.junit.xml (atomically: temp file + rename) into `run_dir`.
void write_junit(const std::filesystem::path& run_dir, const nlohmann::json& report);

} // namespace troupe
