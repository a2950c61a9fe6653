#include "report/report_html.hpp"

#include <fstream>

#include "report/html/elements.hpp"
#include "report/html/sections.hpp"
#include "report/report_file.hpp"

namespace troupe {

using html::at;
using html::str;
using nlohmann::json;

std::string render_report_html(const json& r, const html_options& o) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"generator\" content=\"troupe\"><title>troupe: " +
                    html_escape(str(r, "scenario", "run")) + " — " +
                    html_escape(str(r, "verdict", "")) + "</title><style>" + html::page_style() +
                    "</style></head><body>\n";
  out += html::header(r) + "\n";
  out += html::verdict_table(r) + "\n";
  out += html::refusals_section(r) + "\n";
  // A scenario without nodes (a job campaign) has no heights, transactions or traffic.
  const auto& topo = at(r, "topology");
  const bool nodeless = topo.is_object() && topo.value("nodes", int64_t{-1}) == 0;
  if (!nodeless) {
    out += html::heights_chart(r, o) + "\n";
    out += html::latency_chart(r) + "\n";
    out += html::traffic_chart(r) + "\n";
    out += html::txs_chart(r) + "\n";
  }
  out += html::jobs_section(r) + "\n";
  out += html::program_metrics_section(r, o) + "\n";
  out += html::counters_table(r) + "\n";
  out += html::fabric_section(r) + "\n";
  if (!nodeless)
    out += html::nodes_table(r, o) + "\n";
  out += "<footer class=\"note\">Rendered by troupe from report.json; regenerate with "
         "<code>troupe report DIR</code>.</footer></body></html>\n";
  return out;
}

void write_report_html(const std::filesystem::path& run_dir, const json& report) {
  write_file_atomic(run_dir / "report.html", render_report_html(report));
}

} // namespace troupe
