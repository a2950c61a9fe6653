#pragma once
// The sections of report.html, each rendered from report.json alone (report/report_html
// puts them on one page in this order).

#include <string>

#include <nlohmann/json.hpp>

#include "report/report_html.hpp"

namespace troupe::html {

// -- the run (run_sections.cpp) ----------------------------------------------------
std::string header(const nlohmann::json& r);
std::string verdict_table(const nlohmann::json& r);
/// Controls and faults the backend refused (report.json `refusals`); empty when none.
std::string refusals_section(const nlohmann::json& r);
std::string heights_chart(const nlohmann::json& r, const html_options& o);
std::string latency_chart(const nlohmann::json& r);
std::string traffic_chart(const nlohmann::json& r);
std::string txs_chart(const nlohmann::json& r);
std::string counters_table(const nlohmann::json& r);
std::string nodes_table(const nlohmann::json& r, const html_options& o);

// -- the live link relays (fabric_section.cpp) ----------------------------------------
/// Per directed link: what the relays did (report.json `fabric`); empty when none ran.
std::string fabric_section(const nlohmann::json& r);

// -- job campaigns (jobs_section.cpp) -------------------------------------------------
std::string jobs_section(const nlohmann::json& r);

// -- node programs' scraped metrics (program_metrics_section.cpp) --------------------
std::string program_metrics_section(const nlohmann::json& r, const html_options& o);

} // namespace troupe::html
