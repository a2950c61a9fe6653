#include "report/html/elements.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace troupe::html {

using nlohmann::json;

std::string num(double v, int digits) {
  if (!std::isfinite(v))
    return "–";
  char buf[64];
  if (std::fabs(v - std::round(v)) < 1e-9 && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string str(const json& j, const char* key, const std::string& fallback) {
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

double finite_max(const std::vector<double>& v, double floor_value) {
  double m = floor_value;
  for (double x : v)
    if (std::isfinite(x))
      m = std::max(m, x);
  return m;
}

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

const char* page_style() {
  return R"CSS(
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
}

} // namespace troupe::html
