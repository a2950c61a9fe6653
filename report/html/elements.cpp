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

} // namespace troupe::html
