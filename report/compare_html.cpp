// compare.html: the page of `troupe compare`, rendered from compare.json alone.

#include "report/compare.hpp"

#include <cmath>

#include "report/html/elements.hpp"

namespace troupe {

using html::at;
using html::num;
using html::str;
using nlohmann::json;

namespace {

const char* const color_a = "#1f77b4";
const char* const color_b = "#d62728";

std::string cell(const json& v, int digits = 2) {
  if (v.is_number())
    return num(v.get<double>(), digits);
  if (v.is_boolean())
    return v.get<bool>() ? "pass" : "fail";
  if (v.is_string())
    return html_escape(v.get<std::string>());
  return "–";
}

std::string runs_table(const json& c) {
  std::string out = "<table id=\"runs\" class=\"grid\"><thead><tr><th></th><th>backend</th>"
                    "<th>seed</th><th>verdict</th><th>digest</th><th>seconds</th>"
                    "<th>run directory</th></tr></thead><tbody>";
  for (const auto& r : at(c, "runs"))
    out += "<tr><th>" + html_escape(str(r, "label")) + "</th><td>" +
           html_escape(str(r, "backend")) + "</td><td>" + html_escape(str(r, "seed")) +
           "</td><td>" + html_escape(str(r, "verdict")) + "</td><td>" +
           html_escape(str(r, "digest", "–")) + "</td><td>" + cell(at(r, "seconds"), 1) +
           "</td><td><code>" + html_escape(str(r, "run_dir")) + "</code></td></tr>";
  return out + "</tbody></table>";
}

std::string differences_list(const json& c) {
  const auto& d = at(c, "differences");
  if (!d.is_array() || d.empty())
    return html::section("differences", "Where they differ most",
                         html::note("The two runs agree on every figure both have."));
  std::string out = "<ol id=\"differences\">";
  for (size_t i = 0; i < d.size() && i < 5; ++i)
    out += "<li>" + html_escape(str(d[i], "sentence")) + "</li>";
  return html::section("where", "Where they differ most", out + "</ol>");
}

std::string figures_table(const json& c) {
  std::string out = "<table id=\"figures\" class=\"grid\"><thead><tr><th>figure</th><th>A</th>"
                    "<th>B</th><th>B − A</th><th>apart</th></tr></thead><tbody>";
  for (const auto& f : at(c, "figures")) {
    const auto& rel = at(f, "relative");
    out += "<tr><td>" + html_escape(str(f, "name")) +
           (str(f, "unit").empty() ? "" : " (" + html_escape(str(f, "unit")) + ")") + "</td><td>" +
           cell(at(f, "a")) + "</td><td>" + cell(at(f, "b")) + "</td><td>" +
           cell(at(f, "difference")) + "</td><td>" +
           (rel.is_number() ? num(100 * rel.get<double>(), 1) + " %" : "–") + "</td></tr>";
  }
  return html::section("figures-section", "Figures", out + "</tbody></table>");
}

std::string expectations_table(const json& c) {
  std::string out = "<table id=\"expectations\" class=\"grid\"><thead><tr><th>expectation</th>"
                    "<th>A</th><th>B</th><th>A says</th><th>B says</th></tr></thead><tbody>";
  for (const auto& e : at(c, "expectations"))
    out += "<tr><td>" + html_escape(str(e, "name")) + "</td><td>" + cell(at(e, "a_pass")) +
           "</td><td>" + cell(at(e, "b_pass")) + "</td><td>" + html_escape(str(e, "a_summary")) +
           "</td><td>" + html_escape(str(e, "b_summary")) + "</td></tr>";
  return html::section("expectations-section", "Expectations", out + "</tbody></table>");
}

/// Fault windows as bars above the plot: A's on the first row, B's on the second.
void fault_rows(html::chart& ch, const json& faults) {
  int row = 0;
  for (const char* side : {"a", "b"}) {
    for (const auto& f : at(faults, side)) {
      const double s = at(f, "start_s").is_number() ? f["start_s"].get<double>() : 0;
      const double e = at(f, "end_s").is_number() ? f["end_s"].get<double>() : ch.x1();
      const double x0 = ch.X(std::max(s, ch.x0())), x1 = ch.X(std::min(e, ch.x1()));
      ch.add("<rect x=\"" + num(x0, 1) + "\" y=\"" + num(2 + 7 * row, 1) + "\" width=\"" +
             num(std::max(1.0, x1 - x0), 1) + "\" height=\"5\" fill=\"" +
             html::fault_color(str(f, "action")) + "\"><title>" +
             html_escape(std::string(row == 0 ? "A: " : "B: ") + str(f, "action") + " " +
                         str(f, "detail")) +
             "</title></rect>");
    }
    ++row;
  }
}

std::string heights_charts(const json& c) {
  const auto& h = at(c, "heights");
  const auto xs = html::numbers(at(h, "time_s"));
  const auto& groups = at(h, "groups");
  if (xs.empty() || !groups.is_object() || groups.empty())
    return html::section("heights", "Heights per group",
                         html::note("The runs have no node groups in common."));
  std::string body = html::legend({{color_a, "A"}, {color_b, "B"}}) +
                     html::note("The highest node of each group; bars above a chart are the "
                                "fault windows (A above, B below).");
  for (auto it = groups.begin(); it != groups.end(); ++it) {
    const auto a = html::numbers(at(it.value(), "a"));
    const auto b = html::numbers(at(it.value(), "b"));
    const double top = std::max(html::finite_max(a, 1), html::finite_max(b, 1));
    html::chart ch{xs.front(), xs.back(), 0, top * 1.05, 14};
    fault_rows(ch, at(c, "faults"));
    ch.polyline(xs, a, color_a, "A " + it.key(), 1.6);
    ch.polyline(xs, b, color_b, "B " + it.key(), 1.6);
    body += "<h3 class=\"metric\">" + html_escape(it.key()) + "</h3>" +
            ch.svg("heights-" + html_escape(it.key()), "time (s)", "height");
  }
  return html::section("heights", "Heights per group", body);
}

std::string recoveries_table(const json& c) {
  const auto& rec = at(c, "recoveries");
  if (!rec.is_array() || rec.empty())
    return "";
  std::string out = "<table id=\"recoveries\" class=\"grid\"><thead><tr><th>fault</th>"
                    "<th>A ends at</th><th>B ends at</th><th>A agrees after</th>"
                    "<th>B agrees after</th></tr></thead><tbody>";
  for (const auto& r : rec)
    out += "<tr><td>" + html_escape(str(r, "action")) + "</td><td>" + cell(at(r, "a_heal_s"), 1) +
           " s</td><td>" + cell(at(r, "b_heal_s"), 1) + " s</td><td>" + cell(at(r, "a_s"), 1) +
           " s</td><td>" + cell(at(r, "b_s"), 1) + " s</td></tr>";
  return html::section("recoveries-section", "Recovery after each fault",
                       html::note("Seconds from the end of a fault until every node's height is "
                                  "within one block of the highest; – when that never happens.") +
                         out + "</tbody></table>");
}

} // namespace

std::string render_compare_html(const json& c) {
  const auto& runs = at(c, "runs");
  const std::string scenario = runs.is_array() && !runs.empty() ? str(runs[0], "scenario") : "";
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"generator\" content=\"troupe\"><title>troupe compare: " +
                    html_escape(scenario) + "</title><style>" + html::page_style() +
                    "</style></head><body>\n<header><h1>compare: " + html_escape(scenario) +
                    "</h1>" + runs_table(c);
  if (at(c, "same_scenario") == false)
    out += "<p class=\"error\">The two reports name different scenarios; the figures are "
           "compared all the same.</p>";
  out += "</header>\n" + differences_list(c) + "\n" + figures_table(c) + "\n" +
         expectations_table(c) + "\n" + heights_charts(c) + "\n" + recoveries_table(c) + "\n" +
         "<footer class=\"note\">Rendered by troupe from compare.json.</footer></body></html>\n";
  return out;
}

} // namespace troupe
