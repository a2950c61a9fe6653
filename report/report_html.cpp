#include "report/report_html.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

namespace troupe {

using nlohmann::json;

namespace {

// -- small helpers --------------------------------------------------------------

std::string num(double v, int digits = 2) {
  if (!std::isfinite(v))
    return "–";
  char buf[64];
  if (std::fabs(v - std::round(v)) < 1e-9 && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string str(const json& j, const char* key, const std::string& fallback = "") {
  if (!j.is_object() || !j.contains(key) || j[key].is_null())
    return fallback;
  const auto& v = j[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::vector<double> numbers(const json& j) {
  std::vector<double> out;
  if (j.is_array())
    for (const auto& v : j)
      out.push_back(v.is_number() ? v.get<double>() : NAN);
  return out;
}

const json& at(const json& j, const char* key) {
  static const json null_value;
  return j.is_object() && j.contains(key) ? j[key] : null_value;
}

/// Round tick steps (1, 2, 5 x 10^k) so axes read like a person would label them.
double nice_step(double range, int ticks) {
  if (range <= 0)
    return 1;
  const double raw = range / ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

const char* fault_color(const std::string& action) {
  if (action == "restart" || action == "crash" || action == "kill" || action == "stop")
    return "#d62728";
  if (action == "partition" || action == "isolate")
    return "#ff7f0e";
  if (action == "pause" || action == "freeze")
    return "#9467bd";
  if (action == "skew" || action == "clock_skew")
    return "#17becf";
  if (action == "set_link" || action == "latency" || action == "loss" || action == "slow")
    return "#1f77b4";
  return "#7f7f7f";
}

const char* palette(size_t i) {
  static const char* colors[] = {"#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
                                 "#17becf", "#bcbd22", "#7f7f7f", "#ff7f0e", "#d62728"};
  return colors[i % 10];
}

// -- charts -------------------------------------------------------------------

/// One SVG chart: a plot area with axes; callers add marks in data coordinates.
class chart {
public:
  chart(double x0, double x1, double y0, double y1, double top_extra = 0)
    : x0_(x0)
    , x1_(x1 > x0 ? x1 : x0 + 1)
    , y0_(y0)
    , y1_(y1 > y0 ? y1 : y0 + 1)
    , mt_(16 + top_extra) {}

  double X(double x) const { return ml_ + (x - x0_) / (x1_ - x0_) * pw(); }
  double Y(double y) const { return mt_ + ph() - (y - y0_) / (y1_ - y0_) * ph(); }
  double pw() const { return w_ - ml_ - mr_; }
  double ph() const { return h_ - mt_ - mb_; }
  double top() const { return mt_; }
  double x0() const { return x0_; }
  double x1() const { return x1_; }

  void add(const std::string& s) { body_ += s; }

  void polyline(const std::vector<double>& xs, const std::vector<double>& ys, const char* color,
                const std::string& title, double width = 1.2) {
    // A NaN (node down, no sample) breaks the line instead of drawing through the gap.
    std::string pts;
    auto flush = [&] {
      if (!pts.empty())
        body_ += "<polyline class=\"series\" fill=\"none\" stroke=\"" + std::string(color) +
                 "\" stroke-width=\"" + num(width, 1) + "\" points=\"" + pts + "\"><title>" +
                 html_escape(title) + "</title></polyline>";
      pts.clear();
    };
    for (size_t i = 0; i < xs.size() && i < ys.size(); ++i) {
      if (!std::isfinite(ys[i])) {
        flush();
        continue;
      }
      pts += num(X(xs[i]), 1) + "," + num(Y(ys[i]), 1) + " ";
    }
    flush();
  }

  void band(const std::vector<double>& xs, const std::vector<double>& lo,
            const std::vector<double>& hi, const char* color, const std::string& title) {
    std::string pts;
    for (size_t i = 0; i < xs.size(); ++i)
      if (std::isfinite(hi[i]))
        pts += num(X(xs[i]), 1) + "," + num(Y(hi[i]), 1) + " ";
    for (size_t i = xs.size(); i-- > 0;)
      if (std::isfinite(lo[i]))
        pts += num(X(xs[i]), 1) + "," + num(Y(lo[i]), 1) + " ";
    if (!pts.empty())
      body_ += "<polygon class=\"band\" fill=\"" + std::string(color) +
               "\" fill-opacity=\"0.25\" stroke=\"none\" points=\"" + pts + "\"><title>" +
               html_escape(title) + "</title></polygon>";
  }

  void vline(double x, const char* color, const std::string& label, int row = 0) {
    body_ += "<line x1=\"" + num(X(x), 1) + "\" x2=\"" + num(X(x), 1) + "\" y1=\"" + num(mt_, 1) +
             "\" y2=\"" + num(mt_ + ph(), 1) + "\" stroke=\"" + color +
             "\" stroke-dasharray=\"4 3\"/>";
    body_ += "<text x=\"" + num(X(x) + 3, 1) + "\" y=\"" + num(mt_ + 12 + 13 * row, 1) +
             "\" class=\"lbl\" fill=\"" + color + "\">" + html_escape(label) + "</text>";
  }

  std::string svg(const std::string& id, const std::string& xlabel,
                  const std::string& ylabel) const {
    std::ostringstream o;
    o << "<svg id=\"" << id << "\" class=\"chart\" width=\"" << w_ << "\" height=\"" << h_
      << "\" viewBox=\"0 0 " << w_ << " " << h_ << "\">";
    o << "<rect x=\"" << ml_ << "\" y=\"" << mt_ << "\" width=\"" << pw() << "\" height=\"" << ph()
      << "\" fill=\"#fcfcfc\" stroke=\"#ccc\"/>";
    const double xs = nice_step(x1_ - x0_, 10), ys = nice_step(y1_ - y0_, 5);
    for (double x = std::ceil(x0_ / xs) * xs; x <= x1_ + 1e-9; x += xs)
      o << "<line x1=\"" << num(X(x), 1) << "\" x2=\"" << num(X(x), 1) << "\" y1=\"" << mt_
        << "\" y2=\"" << mt_ + ph() << "\" class=\"grid\"/><text x=\"" << num(X(x), 1) << "\" y=\""
        << mt_ + ph() + 14 << "\" class=\"tick\" text-anchor=\"middle\">" << num(x, 2) << "</text>";
    for (double y = std::ceil(y0_ / ys) * ys; y <= y1_ + 1e-9; y += ys)
      o << "<line x1=\"" << ml_ << "\" x2=\"" << ml_ + pw() << "\" y1=\"" << num(Y(y), 1)
        << "\" y2=\"" << num(Y(y), 1) << "\" class=\"grid\"/><text x=\"" << ml_ - 4 << "\" y=\""
        << num(Y(y) + 4, 1) << "\" class=\"tick\" text-anchor=\"end\">" << num(y, 3) << "</text>";
    o << body_;
    o << "<text x=\"" << ml_ + pw() / 2 << "\" y=\"" << h_ - 4
      << "\" class=\"axis\" text-anchor=\"middle\">" << html_escape(xlabel) << "</text>";
    o << "<text transform=\"translate(14," << mt_ + ph() / 2
      << ") rotate(-90)\" class=\"axis\" text-anchor=\"middle\">" << html_escape(ylabel)
      << "</text></svg>";
    return o.str();
  }

private:
  double x0_, x1_, y0_, y1_;
  double w_ = 1100, h_ = 300, ml_ = 64, mr_ = 16, mt_, mb_ = 38;
  std::string body_;
};

std::string section(const std::string& id, const std::string& title, const std::string& body) {
  return "<section id=\"" + id + "\"><h2>" + html_escape(title) + "</h2>" + body + "</section>";
}

std::string note(const std::string& text) {
  return "<p class=\"note\">" + html_escape(text) + "</p>";
}

std::string legend(const std::vector<std::pair<std::string, std::string>>& items) {
  std::string out = "<div class=\"legend\">";
  for (const auto& [color, label] : items)
    out += "<span><i style=\"background:" + color + "\"></i>" + html_escape(label) + "</span>";
  return out + "</div>";
}

// -- sections -------------------------------------------------------------------

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
std::vector<double> rates(const std::vector<double>& t, const std::vector<double>& v) {
  std::vector<double> out(v.size(), NAN);
  for (size_t i = 1; i < v.size() && i < t.size(); ++i) {
    const double dt = t[i] - t[i - 1];
    if (dt > 0 && std::isfinite(v[i]) && std::isfinite(v[i - 1]))
      out[i] = std::max(0.0, v[i] - v[i - 1]) / dt;
  }
  return out;
}

double finite_max(const std::vector<double>& v, double floor_value) {
  double m = floor_value;
  for (double x : v)
    if (std::isfinite(x))
      m = std::max(m, x);
  return m;
}

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

std::string jobs_section(const json& r) {
  const auto& jobs = at(r, "jobs");
  if (!jobs.is_object())
    return "";
  std::string body;
  const auto& s = at(jobs, "series");
  const auto t = numbers(at(s, "time_s"));
  const auto& by_status = at(s, "by_status");
  if (t.size() >= 1 && by_status.is_object() && !by_status.empty()) {
    double ymax = 1;
    for (auto it = by_status.begin(); it != by_status.end(); ++it)
      ymax = std::max(ymax, finite_max(numbers(it.value()), 0));
    chart c(t.front(), t.back(), 0, ymax * 1.1);
    std::vector<std::pair<std::string, std::string>> items;
    size_t i = 0;
    for (auto it = by_status.begin(); it != by_status.end(); ++it, ++i) {
      c.polyline(t, numbers(it.value()), palette(i), it.key(), 1.6);
      items.push_back({palette(i), it.key()});
    }
    body += legend(items) + c.svg("chart-jobs", "time (s)", "jobs");
  }
  const auto& phases = at(jobs, "phases");
  if (phases.is_object() && !phases.empty()) {
    double ymax = 0;
    for (auto it = phases.begin(); it != phases.end(); ++it)
      for (const char* k : {"p50", "p90", "p99"})
        if (at(it.value(), k).is_number())
          ymax = std::max(ymax, it.value()[k].get<double>());
    const double n = static_cast<double>(phases.size());
    chart c(0, n, 0, ymax > 0 ? ymax * 1.15 : 1);
    size_t i = 0;
    std::string table = "<table class=\"grid\"><tr><th>phase</th><th>count</th><th>p50</th>"
                        "<th>p90</th><th>p99</th><th>max</th></tr>";
    for (auto it = phases.begin(); it != phases.end(); ++it, ++i) {
      const char* keys[] = {"p50", "p90", "p99"};
      const char* colors[] = {"#2ca02c", "#ff7f0e", "#d62728"};
      for (int k = 0; k < 3; ++k) {
        const double v =
          at(it.value(), keys[k]).is_number() ? it.value()[keys[k]].get<double>() : 0;
        const double x = c.X(static_cast<double>(i) + 0.15 + 0.23 * k);
        const double x2 = c.X(static_cast<double>(i) + 0.15 + 0.23 * (k + 1));
        c.add("<rect class=\"bar\" x=\"" + num(x, 1) + "\" y=\"" + num(c.Y(v), 1) + "\" width=\"" +
              num(x2 - x - 2, 1) + "\" height=\"" + num(c.Y(0) - c.Y(v), 1) + "\" fill=\"" +
              colors[k] + "\"><title>" + html_escape(it.key()) + " " + keys[k] + " " + num(v) +
              " s</title></rect>");
      }
      c.add("<text class=\"lbl\" x=\"" + num(c.X(static_cast<double>(i) + 0.5), 1) + "\" y=\"" +
            num(c.top() + 12, 1) + "\" text-anchor=\"middle\">" + html_escape(it.key()) +
            "</text>");
      table += "<tr><td>" + html_escape(it.key()) + "</td><td>" + str(it.value(), "count", "–") +
               "</td><td>" + str(it.value(), "p50", "–") + "</td><td>" +
               str(it.value(), "p90", "–") + "</td><td>" + str(it.value(), "p99", "–") +
               "</td><td>" + str(it.value(), "max", "–") + "</td></tr>";
    }
    body += legend({{"#2ca02c", "p50"}, {"#ff7f0e", "p90"}, {"#d62728", "p99"}}) +
            c.svg("chart-job-phases", "phase", "seconds") + table + "</table>";
  }
  if (body.empty())
    body = note("The jobs section holds no series or phases.");
  return section("jobs", "Jobs", body);
}

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

// The link relays' own account of a live run (report.json `fabric`), one row per link.
std::string fabric_table(const json& r) {
  const auto& links = at(at(r, "fabric"), "links");
  if (!links.is_array() || links.empty())
    return "";
  const size_t rows_max = 200;
  std::string out = "<table id=\"fabric-table\" class=\"grid\"><thead><tr><th>link</th>"
                    "<th>mode</th><th>latency</th><th>relayed</th><th>dropped</th>"
                    "<th>held (total)</th><th>connections</th><th>cut</th><th>mean delay</th>"
                    "</tr></thead><tbody>";
  for (size_t i = 0; i < links.size() && i < rows_max; ++i) {
    const auto& l = links[i];
    const auto& d = at(l, "delay_ms");
    out += "<tr><td>" + html_escape(str(l, "from") + " → " + str(l, "to")) + "</td><td>" +
           html_escape(str(l, "mode")) + "</td><td>" + num(l.value("latency_ms", 0.0), 1) +
           " ms</td><td>" + str(l, "bytes_relayed") + " B</td><td>" + str(l, "bytes_dropped") +
           " B</td><td>" + str(l, "bytes_held_total") + " B</td><td>" + str(l, "connections") +
           "</td><td>" + str(l, "connections_cut") + "</td><td>" +
           num(d.is_object() ? d.value("mean", 0.0) : 0.0, 1) + " ms</td></tr>";
  }
  out += "</tbody></table>";
  if (links.size() > rows_max)
    out += note(std::to_string(links.size() - rows_max) + " more links in report.json.");
  return section("fabric", "Link relays",
                 note("Every byte between live nodes went through these relays: relayed to the "
                      "receiver, dropped by a cut, held by a clog.") +
                   out);
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
  out += header(r) + "\n";
  out += verdict_table(r) + "\n";
  out += refusals_section(r) + "\n";
  // A scenario without nodes (a job campaign) has no heights, transactions or traffic.
  const auto& topo = at(r, "topology");
  const bool nodeless = topo.is_object() && topo.value("nodes", int64_t{-1}) == 0;
  if (!nodeless) {
    out += heights_chart(r, o) + "\n";
    out += latency_chart(r) + "\n";
    out += traffic_chart(r) + "\n";
    out += txs_chart(r) + "\n";
  }
  out += jobs_section(r) + "\n";
  out += program_metrics_section(r, o) + "\n";
  out += counters_table(r) + "\n";
  out += fabric_table(r) + "\n";
  if (!nodeless)
    out += nodes_table(r, o) + "\n";
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
