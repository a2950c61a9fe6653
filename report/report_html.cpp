#include "report/report_html.hpp"

#include <fstream>

#include "report/html/elements.hpp"
#include "report/html/sections.hpp"

namespace troupe {

using html::at;
using html::str;
using nlohmann::json;

namespace {

constexpr const char* style = R"CSS(
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px;
       color: #222; max-width: 1160px; }
h1 { font-size: 22px; margin: 0 0 8px; } h2 { font-size: 17px; margin: 28px 0 6px; }
h3.metric { font-size: 14px; margin: 18px 0 4px; font-family: monospace; }
tr.total th, tr.total td { font-weight: bold; }
.badge { font-size: 14px; padding: 2px 10px; border-radius: 10px; color: #fff;
         background: #7f7f7f; vertical-align: middle; }
.badge.pass { background: #2ca02c; } .badge.fail { background: #d62728; }
.badge.error, .badge.interrupted { background: #ff7f0e; }
table.facts th { text-align: left; color: #666; font-weight: normal; padding-right: 14px; }
table.grid { border-collapse: collapse; margin: 6px 0; }
table.grid th, table.grid td { border: 1px solid #ddd; padding: 3px 8px; text-align: left;
                               vertical-align: top; }
tr.pass td.result { color: #2ca02c; font-weight: bold; }
tr.fail td.result { color: #d62728; font-weight: bold; } tr.down td { color: #d62728; }
pre { margin: 4px 0; font-size: 12px; max-width: 520px; overflow-x: auto; }
code { background: #f3f3f3; padding: 2px 4px; }
.error { color: #d62728; font-weight: bold; } .note { color: #666; font-size: 13px; }
svg.chart { display: block; margin: 4px 0; }
svg .grid { stroke: #eee; } svg .tick { font-size: 10px; fill: #666; }
svg .axis { font-size: 12px; fill: #444; } svg .lbl { font-size: 11px; }
svg .fault-label { font-size: 10px; fill: #222; }
.legend span { margin-right: 14px; font-size: 12px; }
.legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px;
            vertical-align: -1px; }
)CSS";

} // namespace

const char* html::page_style() { return style; }

std::string html_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string render_report_html(const json& r, const html_options& o) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"generator\" content=\"troupe\"><title>troupe: " +
                    html_escape(str(r, "scenario", "run")) + " — " +
                    html_escape(str(r, "verdict", "")) + "</title><style>" + style +
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
  auto tmp = run_dir / "report.html.tmp";
  {
    std::ofstream out{tmp};
    out << render_report_html(report);
  }
  std::filesystem::rename(tmp, run_dir / "report.html");
}

} // namespace troupe
