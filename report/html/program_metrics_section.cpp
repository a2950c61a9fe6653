#include "report/html/sections.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "report/html/elements.hpp"

namespace troupe::html {

using nlohmann::json;

namespace {

// Node programs' own metrics (report.json's program_metrics, live runs with `scrape`): per
// series a chart of the value over run time per node (bands above lines_nodes_max nodes) and
// a per-node table with the cluster total.
std::string metric_chart(const json& entry, const std::string& id, const html_options& o) {
  const auto& points = at(entry, "points");
  std::vector<std::string> ids;
  std::vector<std::vector<double>> xs, ys;
  double tmax = 0, lo = INFINITY, hi = -INFINITY;
  if (points.is_object())
    for (auto it = points.begin(); it != points.end(); ++it) {
      std::vector<double> x, y;
      for (const auto& p : it.value()) {
        if (!p.is_array() || p.size() != 2 || !p[0].is_number())
          continue;
        x.push_back(p[0].get<double>());
        y.push_back(p[1].is_number() ? p[1].get<double>() : NAN);
        tmax = std::max(tmax, x.back());
        if (std::isfinite(y.back())) {
          lo = std::min(lo, y.back());
          hi = std::max(hi, y.back());
        }
      }
      ids.push_back(it.key());
      xs.push_back(std::move(x));
      ys.push_back(std::move(y));
    }
  if (!std::isfinite(lo))
    return note("No node reported this series.");
  // Values far from zero (database bytes, revisions) would be flat lines on a zero-based
  // axis: the axis spans what was seen, with a margin.
  const double pad = hi > lo ? (hi - lo) * 0.05 : std::max(1.0, std::fabs(hi) * 0.05);
  double y0 = lo - pad;
  if (lo >= 0 && y0 < 0)
    y0 = 0;
  chart c(0, tmax > 0 ? tmax : 1, y0, hi + pad);
  std::vector<std::pair<std::string, std::string>> items;
  std::string extra;
  if (ids.size() <= o.lines_nodes_max) {
    for (size_t k = 0; k < ids.size(); ++k) {
      c.polyline(xs[k], ys[k], palette(k), ids[k], 1.3);
      if (ids.size() <= 10)
        items.push_back({palette(k), ids[k]});
    }
    if (ids.size() > 10)
      extra = note("One line per node (" + std::to_string(ids.size()) +
                   " nodes); hover a line for its node.");
  } else {
    // Nodes are scraped at slightly different times: bin the run, take each node's last
    // value per bin, then min/median/max over nodes.
    const size_t bins = 200;
    std::vector<double> t, blo, bmed, bhi;
    std::vector<std::vector<double>> per_bin(bins);
    for (size_t k = 0; k < ids.size(); ++k) {
      std::vector<double> last(bins, NAN);
      for (size_t j = 0; j < xs[k].size(); ++j) {
        auto b = std::min(bins - 1, static_cast<size_t>(xs[k][j] / (tmax > 0 ? tmax : 1) * bins));
        last[b] = ys[k][j];
      }
      for (size_t b = 0; b < bins; ++b)
        if (std::isfinite(last[b]))
          per_bin[b].push_back(last[b]);
    }
    // Bins no node fell in (runs shorter than 200 periods) are left out, not drawn as gaps.
    for (size_t b = 0; b < bins; ++b) {
      auto& col = per_bin[b];
      if (col.empty())
        continue;
      std::sort(col.begin(), col.end());
      t.push_back((static_cast<double>(b) + 1) / bins * (tmax > 0 ? tmax : 1));
      blo.push_back(col.front());
      bhi.push_back(col.back());
      bmed.push_back(col[col.size() / 2]);
    }
    c.band(t, blo, bhi, "#1f77b4", "min..max over nodes");
    c.polyline(t, bmed, "#1f77b4", "median over nodes", 2);
    items = {{"#1f77b4", "median (band: min..max over nodes)"}};
    extra = note(std::to_string(ids.size()) + " nodes: aggregated into min/median/max.");
  }
  const bool counter = str(entry, "kind") == "counter";
  return legend(items) + c.svg(id, "run time (s)", counter ? "value (counts up)" : "value") + extra;
}

std::string metric_table(const json& entry, const html_options& o) {
  const bool counter = str(entry, "kind") == "counter";
  const auto& nodes = at(entry, "nodes");
  auto cells = [&](const json& n) {
    auto cell = [&](const char* key) {
      const auto& v = at(n, key);
      return "<td>" + (v.is_number() ? num(v.get<double>(), 3) : std::string("–")) + "</td>";
    };
    std::string out = cell("samples") + cell("first") + cell("last") + cell("min") + cell("max");
    if (counter)
      out += cell("increase") + cell("rate_per_s");
    return out;
  };
  std::string rows;
  size_t count = 0;
  if (nodes.is_object())
    for (auto it = nodes.begin(); it != nodes.end(); ++it, ++count)
      rows += "<tr><td>" + html_escape(it.key()) + "</td>" + cells(it.value()) + "</tr>";
  rows += "<tr class=\"total\"><th>all nodes (sums; min, max: extremes)</th>" +
          cells(at(entry, "total")) + "</tr>";
  std::string table = "<table class=\"grid metric\"><thead><tr><th>node</th><th>samples</th>"
                      "<th>first</th><th>last</th><th>min</th><th>max</th>";
  if (counter)
    table += "<th>increase</th><th>rate /s</th>";
  table += "</tr></thead><tbody>" + rows + "</tbody></table>";
  return count > o.table_open_nodes_max
           ? "<details><summary>" + std::to_string(count) + " nodes (click to show)</summary>" +
               table + "</details>"
           : table;
}

} // namespace

std::string program_metrics_section(const json& r, const html_options& o) {
  const auto& pm = at(r, "program_metrics");
  if (!pm.is_object())
    return "";
  std::string body;
  const auto& groups = at(pm, "groups");
  if (groups.is_object())
    for (auto it = groups.begin(); it != groups.end(); ++it)
      body += note(
        "Group " + it.key() + " (program " + str(it.value(), "program") + "): GET " +
        str(it.value(), "path") + " on port " + str(it.value(), "port") + " every " +
        num(at(it.value(), "every_s").is_number() ? at(it.value(), "every_s").get<double>() : NAN) +
        " s.");
  const auto& sc = at(pm, "scrapes");
  body += note("Scrapes: " + str(sc, "ok", "0") + " answered, " + str(sc, "skipped_down", "0") +
               " skipped (node down or restarting), " + str(sc, "failed", "0") +
               " failed (no answer in time or not 2xx). Without labels a series is the sum "
               "over its label sets; rates are per second over the run.");
  const auto& series = at(pm, "series");
  size_t i = 0;
  if (series.is_object())
    for (auto it = series.begin(); it != series.end(); ++it, ++i) {
      body += "<h3 class=\"metric\">" + html_escape(it.key()) + " <span class=\"note\">(" +
              html_escape(str(it.value(), "kind", "unknown")) + ")</span></h3>";
      body += metric_chart(it.value(), "chart-metric-" + std::to_string(i), o);
      body += metric_table(it.value(), o);
    }
  if (i == 0)
    body += note("No series were chosen.");
  return section("program-metrics", "Node program metrics", body);
}
} // namespace troupe::html
