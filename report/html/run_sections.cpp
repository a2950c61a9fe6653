#include "report/html/sections.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "report/html/elements.hpp"

namespace troupe::html {

using nlohmann::json;

namespace {

// -- sections -------------------------------------------------------------------

} // namespace

std::string header(const json& r) {
  const std::string verdict = str(r, "verdict", "unknown");
  std::string out = "<header><h1>" + html_escape(str(r, "scenario", "run")) +
                    " <span id=\"verdict\" class=\"badge " + html_escape(verdict) + "\">" +
                    html_escape(verdict) + "</span></h1><table class=\"facts\">";
  auto row = [&](const std::string& k, const std::string& v) {
    out += "<tr><th>" + html_escape(k) + "</th><td>" + html_escape(v) + "</td></tr>";
  };
  row("seed", str(r, "seed"));
  row("backend", str(r, "backend"));
  row("digest", str(r, "digest", "–"));
  const auto& t = at(r, "timing");
  if (t.is_object()) {
    if (!at(t, "simulated_seconds").is_null())
      row("time", num(at(t, "simulated_seconds").get<double>(), 1) + " s simulated in " +
                    num(at(t, "wall_seconds").get<double>(), 2) + " s wall (x" +
                    num(at(t, "speedup").is_number() ? at(t, "speedup").get<double>() : 0, 0) +
                    ")");
    else if (at(t, "run_seconds").is_number())
      row("time", num(at(t, "run_seconds").get<double>(), 1) + " s run, " +
                    num(at(t, "wall_seconds").get<double>(), 1) + " s wall");
  }
  const auto& topo = at(r, "topology");
  if (topo.is_object())
    row("topology", str(topo, "nodes") + " nodes, " + str(topo, "links") + " links, " +
                      str(topo, "layout") + " layout");
  out += "</table>";
  if (!str(r, "error").empty())
    out += "<p class=\"error\">error: " + html_escape(str(r, "error")) + "</p>";
  if (!str(r, "reproduce").empty())
    out +=
      "<p>reproduce: <code id=\"reproduce\">" + html_escape(str(r, "reproduce")) + "</code></p>";
  return out + "</header>";
}

/// Evidence as readable JSON: long arrays are summarised (a latency list is for charts).
namespace {

json shorten(const json& j) {
  if (j.is_array() && j.size() > 20)
    return json("[" + std::to_string(j.size()) + " values]");
  if (j.is_object() || j.is_array()) {
    json out = j;
    for (auto it = out.begin(); it != out.end(); ++it)
      *it = shorten(*it);
    return out;
  }
  return j;
}

} // namespace

std::string verdict_table(const json& r) {
  const auto& exps = at(r, "expectations");
  if (!exps.is_array() || exps.empty())
    return section("verdicts", "Verdicts", note("This scenario has no expectations."));
  std::string out = "<table id=\"verdict-table\" class=\"grid\"><thead><tr><th>expectation"
                    "</th><th>kind</th><th>result</th><th>summary</th><th>evidence</th></tr>"
                    "</thead><tbody>";
  for (const auto& e : exps) {
    const bool pass = e.value("pass", false);
    out += std::string("<tr class=\"") + (pass ? "pass" : "fail") + "\"><td>" +
           html_escape(str(e, "name")) + "</td><td>" + html_escape(str(e, "kind")) +
           "</td><td class=\"result\">" + (pass ? "PASS" : "FAIL") + "</td><td>" +
           html_escape(str(e, "summary")) + "</td><td><details><summary>details</summary><pre>" +
           html_escape(shorten(at(e, "evidence")).dump(2)) + "</pre></details></td></tr>";
  }
  return section("verdicts", "Verdicts", out + "</tbody></table>");
}

namespace {

struct fault_window {
  std::string action, label, detail;
  double start, end;
};

std::vector<fault_window> fault_windows(const json& r, double end_default) {
  std::vector<fault_window> out;
  const auto& faults = at(r, "faults");
  if (!faults.is_array())
    return out;
  for (const auto& f : faults) {
    fault_window w;
    w.action = str(f, "action", "fault");
    const auto& nodes = at(f, "nodes");
    std::string who;
    if (nodes.is_array()) {
      if (nodes.size() <= 2)
        for (const auto& n : nodes)
          who += (who.empty() ? "" : ",") + (n.is_string() ? n.get<std::string>() : n.dump());
      else
        who = std::to_string(nodes.size()) + " nodes";
    }
    w.label = w.action + (who.empty() ? "" : " " + who);
    w.detail = str(f, "detail");
    w.start = at(f, "start_s").is_number() ? f["start_s"].get<double>() : 0;
    w.end = at(f, "end_s").is_number() ? f["end_s"].get<double>() : end_default;
    out.push_back(w);
  }
  return out;
}

/// Shades fault windows over the plot and labels them in lanes above it, so overlapping
/// windows stay readable; with no lanes, shades only.
void draw_faults(chart& c, const std::vector<fault_window>& faults, int lanes) {
  std::vector<double> lane_end(static_cast<size_t>(lanes), -1e300);
  for (const auto& f : faults) {
    const double x = c.X(f.start), x2 = std::max(c.X(f.end), x + 2);
    c.add("<rect class=\"fault\" x=\"" + num(x, 1) + "\" y=\"" + num(c.top(), 1) + "\" width=\"" +
          num(x2 - x, 1) + "\" height=\"" + num(c.ph(), 1) + "\" fill=\"" + fault_color(f.action) +
          "\" fill-opacity=\"0.12\"><title>" +
          html_escape(f.label + " " + num(f.start, 1) + "s–" + num(f.end, 1) + "s " + f.detail) +
          "</title></rect>");
    if (lanes == 0)
      continue; // shading only (the traffic charts; the heights chart carries the labels)
    // Lane: the first whose previous label ends before this one starts (text ~6px a char).
    const double text_end = x + 6.0 * static_cast<double>(f.label.size()) + 8;
    size_t lane = 0;
    while (lane + 1 < lane_end.size() && lane_end[lane] > x)
      ++lane;
    const bool room = lane_end[lane] <= x;
    lane_end[lane] = std::max(lane_end[lane], std::max(x2, text_end));
    const double y = c.top() - 14.0 * static_cast<double>(lanes - static_cast<int>(lane));
    c.add("<rect x=\"" + num(x, 1) + "\" y=\"" + num(y, 1) + "\" width=\"" + num(x2 - x, 1) +
          "\" height=\"11\" fill=\"" + fault_color(f.action) + "\" fill-opacity=\"0.5\"/>");
    if (room)
      c.add("<text class=\"fault-label\" x=\"" + num(x + 2, 1) + "\" y=\"" + num(y + 9, 1) + "\">" +
            html_escape(f.label) + "</text>");
  }
}

std::string group_of(const std::string& id) {
  auto p = id.find_last_of('-');
  return p == std::string::npos ? id : id.substr(0, p);
}

} // namespace

std::string heights_chart(const json& r, const html_options& o) {
  const auto& series = at(r, "series");
  const auto t = numbers(at(series, "time_s"));
  const auto& heights = at(series, "heights");
  if (t.empty() || !heights.is_object() || heights.empty())
    return section("heights", "Height per node", note("No height samples were recorded."));
  // Per node, -1 (down) becomes a gap.
  std::vector<std::string> ids;
  std::vector<std::vector<double>> hs;
  double hmax = 1;
  for (auto it = heights.begin(); it != heights.end(); ++it) {
    ids.push_back(it.key());
    auto v = numbers(it.value());
    v.resize(t.size(), NAN);
    for (auto& x : v) {
      if (x < 0)
        x = NAN;
      else
        hmax = std::max(hmax, x);
    }
    hs.push_back(std::move(v));
  }
  // Groups from report.nodes when present, else from the id's prefix.
  std::map<std::string, std::string> group;
  for (const auto& n : at(r, "nodes"))
    if (n.is_object() && n.contains("group"))
      group[str(n, "id")] = str(n, "group");
  std::map<std::string, size_t> group_index;
  for (const auto& id : ids) {
    auto g = group.count(id) ? group[id] : group_of(id);
    group.emplace(id, g);
    group_index.emplace(g, group_index.size());
  }
  const double end = t.back();
  auto faults = fault_windows(r, end);
  const int lanes = faults.empty() ? 0 : std::min<int>(4, static_cast<int>(faults.size()));
  chart c(0, end, 0, hmax * 1.05, 14.0 * lanes);
  draw_faults(c, faults, lanes);
  std::string extra;
  std::vector<std::pair<std::string, std::string>> items;
  if (ids.size() <= o.lines_nodes_max) {
    for (size_t i = 0; i < ids.size(); ++i)
      c.polyline(t, hs[i], palette(group_index[group[ids[i]]]), ids[i], 1.1);
    for (const auto& [g, i] : group_index)
      items.push_back({palette(i), "group " + g});
    extra = note("One line per node (" + std::to_string(ids.size()) +
                 " nodes); gaps are samples where the node was down.");
  } else {
    // Too many lines to tell apart: min/median/max over up nodes, and the down count.
    std::vector<double> lo(t.size(), NAN), med(t.size(), NAN), hi(t.size(), NAN);
    std::vector<double> down(t.size(), 0);
    std::vector<double> col;
    for (size_t k = 0; k < t.size(); ++k) {
      col.clear();
      for (const auto& h : hs)
        if (std::isfinite(h[k]))
          col.push_back(h[k]);
        else
          down[k] += 1;
      if (col.empty())
        continue;
      std::sort(col.begin(), col.end());
      lo[k] = col.front();
      hi[k] = col.back();
      med[k] = col[col.size() / 2];
    }
    c.band(t, lo, hi, "#1f77b4", "min..max height over up nodes");
    c.polyline(t, med, "#1f77b4", "median height", 2);
    c.polyline(t, lo, "#d62728", "min height", 1);
    c.polyline(t, hi, "#2ca02c", "max height", 1);
    items = {{"#1f77b4", "median (band: min..max)"}, {"#d62728", "min"}, {"#2ca02c", "max"}};
    const double down_max = *std::max_element(down.begin(), down.end());
    extra = note(std::to_string(ids.size()) +
                 " nodes: aggregated into min/median/max over up nodes per sample; at most " +
                 num(down_max, 0) + " nodes were down at once.");
  }
  std::vector<std::string> actions;
  for (const auto& f : faults)
    if (std::find(actions.begin(), actions.end(), f.action) == actions.end())
      actions.push_back(f.action);
  for (const auto& a : actions)
    items.push_back({fault_color(a), "fault: " + a});
  std::string body = legend(items) + c.svg("chart-heights", "run time (s)", "height") + extra;
  if (faults.empty())
    body += note("No faults were injected.");
  return section("heights", "Height per node over time", body);
}

std::string latency_chart(const json& r) {
  const auto& lat = at(r, "tx_latency");
  auto samples = numbers(at(lat, "samples_s"));
  samples.erase(
    std::remove_if(samples.begin(), samples.end(), [](double x) { return !std::isfinite(x); }),
    samples.end());
  // Older reports: the tx_inclusion expectation's evidence carries the samples.
  json pct = at(lat, "count").is_number() ? lat : json::object();
  if (samples.empty())
    for (const auto& e : at(r, "expectations"))
      if (str(e, "kind") == "tx_inclusion") {
        samples = numbers(at(at(e, "evidence"), "latencies_s"));
        pct = at(at(e, "evidence"), "latency_s");
      }
  if (samples.empty())
    return section("latency", "Transaction inclusion latency",
                   note("No transaction was included (or none was submitted)."));
  std::sort(samples.begin(), samples.end());
  auto pick = [&](double p) {
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * samples.size()));
    return samples[std::min(samples.size(), std::max<size_t>(rank, 1)) - 1];
  };
  const double p50 = at(pct, "p50").is_number() ? pct["p50"].get<double>() : pick(50);
  const double p90 = at(pct, "p90").is_number() ? pct["p90"].get<double>() : pick(90);
  const double p99 = at(pct, "p99").is_number() ? pct["p99"].get<double>() : pick(99);
  const double lo = samples.front(), hi = samples.back();
  const size_t bins = 40;
  const double width = hi > lo ? (hi - lo) / bins : 1;
  std::vector<double> count(bins, 0);
  for (double s : samples)
    count[std::min(bins - 1, static_cast<size_t>((s - lo) / width))] += 1;
  const double cmax = *std::max_element(count.begin(), count.end());
  chart c(lo, lo + width * bins, 0, cmax * 1.1);
  for (size_t b = 0; b < bins; ++b) {
    if (count[b] == 0)
      continue;
    const double x = c.X(lo + width * b), x2 = c.X(lo + width * (b + 1));
    c.add("<rect class=\"bar\" x=\"" + num(x, 1) + "\" y=\"" + num(c.Y(count[b]), 1) +
          "\" width=\"" + num(std::max(1.0, x2 - x - 1), 1) + "\" height=\"" +
          num(c.Y(0) - c.Y(count[b]), 1) + "\" fill=\"#1f77b4\"><title>" + num(lo + width * b, 2) +
          "–" + num(lo + width * (b + 1), 2) + " s: " + num(count[b], 0) + "</title></rect>");
  }
  c.vline(p50, "#2ca02c", "p50 " + num(p50, 2) + "s", 0);
  c.vline(p90, "#ff7f0e", "p90 " + num(p90, 2) + "s", 1);
  c.vline(p99, "#d62728", "p99 " + num(p99, 2) + "s", 2);
  std::string body =
    c.svg("chart-latency", "seconds from submission to first finalization", "transactions");
  body += "<table class=\"grid pct\"><tr><th>count</th><th>p50</th><th>p90</th><th>p99</th>"
          "<th>max</th></tr><tr><td>" +
          num(static_cast<double>(at(lat, "count").is_number() ? lat["count"].get<double>()
                                                               : samples.size()),
              0) +
          "</td><td>" + num(p50) + " s</td><td>" + num(p90) + " s</td><td>" + num(p99) +
          " s</td><td>" + num(hi) + " s</td></tr></table>";
  return section("latency", "Transaction inclusion latency", body);
}

/// Per-second rates of cumulative counters (a counter that restarts counts from zero).
namespace {

std::vector<double> rates(const std::vector<double>& t, const std::vector<double>& v) {
  std::vector<double> out(v.size(), NAN);
  for (size_t i = 1; i < v.size() && i < t.size(); ++i) {
    const double dt = t[i] - t[i - 1];
    if (dt > 0 && std::isfinite(v[i]) && std::isfinite(v[i - 1]))
      out[i] = std::max(0.0, v[i] - v[i - 1]) / dt;
  }
  return out;
}

} // namespace

std::string traffic_chart(const json& r) {
  const auto& series = at(r, "series");
  const auto t = numbers(at(series, "time_s"));
  const auto& counters = at(series, "counters");
  const auto msgs = numbers(at(counters, "messages"));
  const auto drops = numbers(at(counters, "drops"));
  if (t.size() < 2 || (msgs.empty() && drops.empty()))
    return section("traffic", "Messages and drops over time",
                   note("The backend reports no message counters over time (live backends "
                        "count no network messages)."));
  const double end = t.back();
  auto faults = fault_windows(r, end);
  std::string body;
  {
    auto m = rates(t, msgs);
    chart c(0, end, 0, finite_max(m, 1) * 1.1);
    draw_faults(c, faults, 0);
    c.polyline(t, m, "#1f77b4", "messages delivered per second", 1.5);
    body += c.svg("chart-messages", "run time (s)", "messages / s");
  }
  {
    auto d = rates(t, drops);
    chart c(0, end, 0, finite_max(d, 1) * 1.1);
    draw_faults(c, faults, 0);
    c.polyline(t, d, "#d62728", "messages dropped per second", 1.5);
    body += c.svg("chart-drops", "run time (s)", "drops / s");
  }
  const double total_drops = drops.empty() ? 0 : finite_max(drops, 0);
  body += note("Delivered " + num(finite_max(msgs, 0), 0) + " messages, dropped " +
               num(total_drops, 0) + " (loss, partitions, crashed receivers). Shaded: faults.");
  return section("traffic", "Messages and drops over time", body);
}

std::string txs_chart(const json& r) {
  const auto& series = at(r, "series");
  const auto t = numbers(at(series, "time_s"));
  const auto& counters = at(series, "counters");
  const auto sub = numbers(at(counters, "txs_submitted"));
  const auto inc = numbers(at(counters, "txs_included"));
  if (t.size() < 2 || finite_max(sub, 0) <= 0)
    return "";
  chart c(0, t.back(), 0, finite_max(sub, 1) * 1.05);
  c.polyline(t, sub, "#7f7f7f", "submitted", 1.5);
  c.polyline(t, inc, "#2ca02c", "final on at least one node", 1.5);
  return section("txs", "Transactions over time",
                 legend({{"#7f7f7f", "submitted"}, {"#2ca02c", "final on at least one node"}}) +
                   c.svg("chart-txs", "run time (s)", "transactions (cumulative)"));
}
std::string counters_table(const json& r) {
  const auto& counters = at(r, "counters");
  if (!counters.is_object() || counters.empty())
    return "";
  std::string out = "<table class=\"grid counters\">";
  for (auto it = counters.begin(); it != counters.end(); ++it)
    out += "<tr><th>" + html_escape(it.key()) + "</th><td>" + html_escape(it.value().dump()) +
           "</td></tr>";
  return section("counters", "Counters", out + "</table>");
}

std::string nodes_table(const json& r, const html_options& o) {
  const auto& nodes = at(r, "nodes");
  if (!nodes.is_array() || nodes.empty())
    return "";
  const auto& logs = at(r, "node_logs");
  const bool have_logs =
    logs.is_object() && at(logs, "nodes").is_object() && !at(logs, "nodes").empty();
  std::string rows;
  for (const auto& n : nodes) {
    const std::string id = str(n, "id");
    const bool up = n.value("up", false);
    rows += std::string("<tr class=\"") + (up ? "up" : "down") + "\"><td>" + html_escape(id) +
            "</td><td>" + html_escape(str(n, "group", group_of(id))) + "</td><td>" +
            (up ? "up" : "down") + "</td><td>" + str(n, "height") + "</td><td>" +
            str(n, "final_height") + "</td><td>" + str(n, "peers") + "</td><td>" +
            str(n, "mempool") + "</td>";
    if (have_logs) {
      const auto& l = at(at(logs, "nodes"), id.c_str());
      rows += "<td>" + str(l, "lines", "–") + "</td><td>" + str(l, "errors", "–") + "</td><td>" +
              str(l, "warnings", "–") + "</td>";
    }
    rows += "</tr>";
  }
  std::string table = "<table id=\"node-table\" class=\"grid\"><thead><tr><th>node</th>"
                      "<th>group</th><th>state</th><th>height</th><th>final</th><th>peers</th>"
                      "<th>mempool</th>";
  if (have_logs)
    table += "<th>log lines</th><th>errors</th><th>warnings</th>";
  table += "</tr></thead><tbody>" + rows + "</tbody></table>";
  std::string body = nodes.size() > o.table_open_nodes_max
                       ? "<details><summary>" + std::to_string(nodes.size()) +
                           " nodes (click to show)</summary>" + table + "</details>"
                       : table;
  if (!have_logs)
    body += note(logs.is_object() && !str(logs, "note").empty()
                   ? str(logs, "note")
                   : "No node logs were found for this run.");
  return section("nodes", "Nodes at the end", body);
}

// What the backend refused to do: listed on its own, never shaded as a fault window.
std::string refusals_section(const json& r) {
  const auto& refused = at(r, "refusals");
  if (!refused.is_array() || refused.empty())
    return "";
  const size_t rows_max = 200;
  std::string out = "<table id=\"refusal-table\" class=\"grid\"><thead><tr><th>time</th>"
                    "<th>action</th><th>nodes</th><th>reason</th></tr></thead><tbody>";
  for (size_t i = 0; i < refused.size() && i < rows_max; ++i) {
    const auto& f = refused[i];
    std::string nodes;
    for (const auto& n : at(f, "nodes"))
      nodes += (nodes.empty() ? "" : ", ") + n.get<std::string>();
    out += "<tr><td>" + num(f.value("time_s", 0.0), 1) + " s</td><td>" +
           html_escape(str(f, "action")) + "</td><td>" +
           html_escape(nodes.empty() ? "every node" : nodes) + "</td><td>" +
           html_escape(str(f, "reason")) + "</td></tr>";
  }
  out += "</tbody></table>";
  if (refused.size() > rows_max)
    out += note(std::to_string(refused.size() - rows_max) + " more in report.json.");
  return section("refusals", "Refused",
                 note("Controls and faults the backend could not apply. They did not happen: "
                      "they are neither shaded as fault windows nor counted as faults.") +
                   out);
}

} // namespace troupe::html
