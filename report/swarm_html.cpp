#include "report/swarm_html.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>

#include "report/html/elements.hpp"
#include "report/report_html.hpp"

namespace troupe {

using html::at;
using html::num;
using html::str;
using nlohmann::json;

namespace {

std::string cell(const std::string& text) { return "<td>" + html_escape(text) + "</td>"; }

std::string header(const json& s) {
  const std::string verdict = str(s, "verdict", "error");
  const json seeds = at(s, "seeds");
  std::string shard;
  if (at(s, "shard").is_object())
    shard = ", shard " + str(s["shard"], "index") + " of " + str(s["shard"], "count");
  std::string out = "<h1>swarm: " + html_escape(str(s, "scenario")) + " <span class=\"badge " +
                    html_escape(verdict) + "\">" + html_escape(verdict) + "</span></h1>";
  out += "<table class=\"facts\"><tr><th>file</th><td><code>" + html_escape(str(s, "file")) +
         "</code></td></tr><tr><th>seeds</th><td>" + str(seeds, "first") + ".." +
         str(seeds, "last") + html_escape(shard) + (s.value("vary", false) ? ", varied" : "") +
         "</td></tr><tr><th>runs</th><td>" + str(s, "ran") + " of " + str(s, "planned") + ": " +
         str(s, "passed") + " passed, " + str(s, "failed") + " failed, " + str(s, "errors") +
         " errors or timeouts" + (s.value("interrupted", false) ? " (interrupted)" : "") +
         "</td></tr></table>";
  return out;
}

std::string expectations_section(const json& s) {
  std::string rows;
  for (const auto& e : at(s, "expectations")) {
    const double rate = e.value("pass_rate", 0.0);
    rows += "<tr class=\"" + std::string(rate >= 1 ? "pass" : "fail") + "\">" +
            cell(str(e, "name")) + cell(str(e, "kind")) + "<td class=\"result\">" +
            num(rate * 100, 1) + "%</td>" + cell(str(e, "passed")) + cell(str(e, "failed")) +
            "<td><svg width=\"200\" height=\"12\"><rect width=\"200\" height=\"12\" "
            "fill=\"#d62728\"/><rect width=\"" +
            num(200 * rate, 1) + "\" height=\"12\" fill=\"#2ca02c\"/></svg></td></tr>";
  }
  if (rows.empty())
    return html::section("expectations", "Pass rate per expectation",
                         html::note("No seed reported a verdict."));
  return html::section("expectations", "Pass rate per expectation",
                       "<table class=\"grid\"><tr><th>expectation</th><th>kind</th><th>pass "
                       "rate</th><th>passed</th><th>failed</th><th></th></tr>" +
                         rows + "</table>");
}

/// One histogram of a figure's values across seeds: about 20 bins over min..max.
std::string histogram(const std::string& name, const json& d) {
  const auto values = html::numbers(at(d, "values"));
  if (values.empty())
    return "";
  const double lo = d.value("min", 0.0), hi = d.value("max", 0.0);
  const size_t bins = hi > lo ? 20 : 1;
  std::vector<double> counts(bins, 0);
  for (double v : values)
    counts[std::min(bins - 1, static_cast<size_t>((v - lo) / (hi - lo + 1e-12) * bins))] += 1;
  const double width = hi > lo ? (hi - lo) / bins : 1;
  html::chart c(lo, hi > lo ? hi : lo + 1, 0, html::finite_max(counts, 1));
  for (size_t i = 0; i < bins; ++i) {
    const double x0 = lo + i * width, x1 = x0 + width;
    c.add("<rect x=\"" + num(c.X(x0), 1) + "\" y=\"" + num(c.Y(counts[i]), 1) + "\" width=\"" +
          num(std::max(1.0, c.X(x1) - c.X(x0) - 1), 1) + "\" height=\"" +
          num(c.Y(0) - c.Y(counts[i]), 1) + "\" fill=\"" + html::palette(0) + "\"><title>" +
          num(x0, 3) + ".." + num(x1, 3) + ": " + num(counts[i], 0) + " seeds</title></rect>");
  }
  return "<h3 class=\"metric\">" + html_escape(name) + "</h3>" +
         c.svg("figure-" + name, name, "seeds");
}

std::string figures_section(const json& s) {
  const auto& figs = at(s, "figures");
  if (!figs.is_object() || figs.empty())
    return "";
  std::string rows, charts;
  for (const auto& [name, d] : figs.items()) {
    rows += "<tr>" + cell(name);
    for (const char* k : {"min", "p10", "p50", "p90", "max", "mean"})
      rows += cell(num(d.value(k, 0.0), 3));
    rows += "</tr>";
    charts += histogram(name, d);
  }
  return html::section("figures", "Key figures across seeds",
                       "<table class=\"grid\"><tr><th>figure</th><th>min</th><th>p10</th>"
                       "<th>p50</th><th>p90</th><th>max</th><th>mean</th></tr>" +
                         rows + "</table>" + charts);
}

/// `troupe swarm --shrink`: where the seed's shrunk schedule is, and how much smaller.
std::string shrunk_note(const json& f) {
  const auto& sh = at(f, "shrunk");
  if (!sh.is_object())
    return "";
  return "<br>shrunk: <code>" + html_escape(str(sh, "file")) + "</code> (" +
         str(sh, "faults_before") + " faults -> " + str(sh, "faults_after") + ")";
}

std::string failing_section(const json& s) {
  std::string rows;
  for (const auto& f : at(s, "failing")) {
    std::string names;
    for (const auto& n : at(f, "failed"))
      names += (names.empty() ? "" : ", ") + (n.is_string() ? n.get<std::string>() : n.dump());
    rows += "<tr class=\"fail\">" + cell(str(f, "seed")) + "<td class=\"result\">" +
            html_escape(str(f, "verdict")) + "</td>" + cell(names) + "<td><code>" +
            html_escape(str(f, "reproduce")) + "</code>" + shrunk_note(f) + "</td></tr>";
  }
  if (rows.empty())
    return html::section("failing", "Failing seeds", html::note("Every seed passed."));
  return html::section("failing", "Failing seeds",
                       "<table class=\"grid\"><tr><th>seed</th><th>verdict</th><th>failed "
                       "expectations</th><th>reproduce</th></tr>" +
                         rows + "</table>");
}

} // namespace

std::string render_swarm_html(const json& s) {
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"generator\" content=\"troupe\"><title>troupe swarm: " +
         html_escape(str(s, "scenario")) + " — " + html_escape(str(s, "verdict")) +
         "</title><style>" + html::page_style() + "</style></head><body>\n" + header(s) + "\n" +
         expectations_section(s) + "\n" + failing_section(s) + "\n" + figures_section(s) +
         "\n</body></html>\n";
}

void write_swarm_html(const std::filesystem::path& dir, const json& s) {
  const auto tmp = dir / "swarm.html.tmp";
  {
    std::ofstream f{tmp};
    f << render_swarm_html(s);
  }
  std::filesystem::rename(tmp, dir / "swarm.html");
}

} // namespace troupe
