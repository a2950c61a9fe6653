#pragma once
// The run's report files: report.json (the record), report.html (for people), report.junit.xml
// (for CI systems) and the node-log summary inside them. The catalog installs write_run_report as
// the registry's run_reporter.

#include <filesystem>

#include <nlohmann/json.hpp>

#include "actors/run_outcome.hpp"

namespace troupe {

/// Writes report.json, report.html and report.junit.xml into `run_dir` and returns report.json's
/// value. A page or JUnit file that cannot be written is logged, never hides the JSON record.
nlohmann::json write_run_report(const run_outcome& outcome, const std::filesystem::path& run_dir);

} // namespace troupe
